/* Zhang-Shasha tree edit distance with unit costs, on trees given in post-order.
 *
 * Each tree comes as two int32 buffers of equal length n: label ids (equal ids = equal labels) and
 * lml[i], the post-order index of the leftmost leaf descendant of node i. The Python side builds
 * them (flowgen.metrics.flowsim); this file only does the dynamic programming, which is where the
 * time goes when evaluation scores thousands of pairs.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline int32_t min3(int32_t a, int32_t b, int32_t c) {
    int32_t m = a < b ? a : b;
    return m < c ? m : c;
}

/* Key roots: nodes with no later node sharing their leftmost leaf, in increasing order. */
static Py_ssize_t keyroots(const int32_t *lml, Py_ssize_t n, int32_t *out, char *seen) {
    Py_ssize_t k = 0;
    memset(seen, 0, (size_t)n);
    for (Py_ssize_t i = n - 1; i >= 0; i--) {
        if (!seen[lml[i]]) {
            seen[lml[i]] = 1;
            out[k++] = (int32_t)i;
        }
    }
    for (Py_ssize_t a = 0, b = k - 1; a < b; a++, b--) {
        int32_t t = out[a]; out[a] = out[b]; out[b] = t;
    }
    return k;
}

static int64_t distance(const int32_t *la, const int32_t *ma, Py_ssize_t n,
                        const int32_t *lb, const int32_t *mb, Py_ssize_t m) {
    if (n == 0) return m;
    if (m == 0) return n;
    const Py_ssize_t w = m + 1;
    int32_t *td = malloc(sizeof(int32_t) * (size_t)(n * m));
    int32_t *fd = malloc(sizeof(int32_t) * (size_t)((n + 1) * w));
    int32_t *kra = malloc(sizeof(int32_t) * (size_t)n);
    int32_t *krb = malloc(sizeof(int32_t) * (size_t)m);
    char *seen = malloc((size_t)(n > m ? n : m));
    int64_t result = -1;
    if (!td || !fd || !kra || !krb || !seen) goto done;
    Py_ssize_t nka = keyroots(ma, n, kra, seen);
    Py_ssize_t nkb = keyroots(mb, m, krb, seen);
    /* fd row r / column c stand for post-order index r-1 / c-1; row li is "empty forest" for li. */
    for (Py_ssize_t x = 0; x < nka; x++) {
        const Py_ssize_t i = kra[x], li = ma[i];
        for (Py_ssize_t y = 0; y < nkb; y++) {
            const Py_ssize_t j = krb[y], lj = mb[j];
            fd[li * w + lj] = 0;
            for (Py_ssize_t di = li; di <= i; di++) fd[(di + 1) * w + lj] = fd[di * w + lj] + 1;
            for (Py_ssize_t dj = lj; dj <= j; dj++) fd[li * w + dj + 1] = fd[li * w + dj] + 1;
            for (Py_ssize_t di = li; di <= i; di++) {
                int32_t *row = fd + (di + 1) * w, *up = fd + di * w;
                const int32_t lab = la[di];
                const Py_ssize_t ldi = ma[di];
                if (ldi == li) {
                    for (Py_ssize_t dj = lj; dj <= j; dj++) {
                        int32_t v;
                        if (mb[dj] == lj) {
                            v = min3(up[dj + 1] + 1, row[dj] + 1, up[dj] + (lab != lb[dj]));
                            td[di * m + dj] = v;
                        } else {
                            v = min3(up[dj + 1] + 1, row[dj] + 1, fd[ldi * w + mb[dj]] + td[di * m + dj]);
                        }
                        row[dj + 1] = v;
                    }
                } else {
                    const int32_t *base = fd + ldi * w;
                    const int32_t *tdr = td + di * m;
                    for (Py_ssize_t dj = lj; dj <= j; dj++)
                        row[dj + 1] = min3(up[dj + 1] + 1, row[dj] + 1, base[mb[dj]] + tdr[dj]);
                }
            }
        }
    }
    result = td[(n - 1) * m + (m - 1)];
done:
    free(td); free(fd); free(kra); free(krb); free(seen);
    return result;
}

static int check(Py_buffer *labels, Py_buffer *lml, const char *which) {
    if (labels->itemsize != 4 || lml->itemsize != 4 || labels->len != lml->len) {
        PyErr_Format(PyExc_ValueError, "tree %s: labels and lml must be int32 buffers of equal length", which);
        return 0;
    }
    const int32_t *m = lml->buf;
    Py_ssize_t n = lml->len / 4;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (m[i] < 0 || m[i] > i) {
            PyErr_Format(PyExc_ValueError, "tree %s: lml[%zd] must lie in 0..%zd", which, i, i);
            return 0;
        }
    }
    return 1;
}

static PyObject *ted(PyObject *self, PyObject *args) {
    Py_buffer la, ma, lb, mb;
    if (!PyArg_ParseTuple(args, "y*y*y*y*", &la, &ma, &lb, &mb)) return NULL;
    PyObject *out = NULL;
    if (check(&la, &ma, "a") && check(&lb, &mb, "b")) {
        int64_t d;
        Py_BEGIN_ALLOW_THREADS
        d = distance(la.buf, ma.buf, la.len / 4, lb.buf, mb.buf, lb.len / 4);
        Py_END_ALLOW_THREADS
        out = d < 0 ? PyErr_NoMemory() : PyLong_FromLongLong(d);
    }
    PyBuffer_Release(&la); PyBuffer_Release(&ma); PyBuffer_Release(&lb); PyBuffer_Release(&mb);
    return out;
}

static PyMethodDef methods[] = {
    {"ted", ted, METH_VARARGS,
     "ted(labels_a, lml_a, labels_b, lml_b) -> int: unit-cost Zhang-Shasha distance of two post-order trees."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_ted", NULL, -1, methods};

PyMODINIT_FUNC PyInit__ted(void) { return PyModule_Create(&module); }
