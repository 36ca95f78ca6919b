"""The datasets: tenant catalogs' workflows, generated train / ood splits, hand-written test and ood examples."""
