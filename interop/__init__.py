"""Exchange with the platforms workflows run on: export, and their own toolchains as external checks."""
