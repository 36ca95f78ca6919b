/* Zhang-Shasha tree edit distance on trees given in post-order.
 *
 * Each tree comes as three int32 buffers of equal length n: label ids (equal ids = equal labels),
 * lml[i], the post-order index of the leftmost leaf descendant of node i, and kind[i], the node's
 * cost class. Kind 0 is a unit-cost node (FlowGen's FlowSim uses only these); bit FREE makes
 * inserting or deleting the node cost 0, bit HEAVY makes relabelling it to a different label cost 2
 * (StarFlow's FlowSim: free container nodes, costly trigger and component relabels). The Python
 * side builds the buffers (flowgen.metrics); this file only does the dynamic programming, which is
 * where the time goes when evaluation scores thousands of pairs.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FREE 1
#define HEAVY 2

static inline int32_t indel(int32_t kind) { return (kind & FREE) ? 0 : 1; }

static inline int32_t relabel(int32_t la, int32_t ka, int32_t lb, int32_t kb) {
    if (la == lb) return 0;
    return ((ka | kb) & HEAVY) ? 2 : 1;
}

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

static int64_t distance(const int32_t *la, const int32_t *ma, const int32_t *ka, Py_ssize_t n,
                        const int32_t *lb, const int32_t *mb, const int32_t *kb, Py_ssize_t m) {
    if (n == 0 || m == 0) {
        int64_t total = 0;
        for (Py_ssize_t i = 0; i < n; i++) total += indel(ka[i]);
        for (Py_ssize_t j = 0; j < m; j++) total += indel(kb[j]);
        return total;
    }
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
            for (Py_ssize_t di = li; di <= i; di++) fd[(di + 1) * w + lj] = fd[di * w + lj] + indel(ka[di]);
            for (Py_ssize_t dj = lj; dj <= j; dj++) fd[li * w + dj + 1] = fd[li * w + dj] + indel(kb[dj]);
            for (Py_ssize_t di = li; di <= i; di++) {
                int32_t *row = fd + (di + 1) * w, *up = fd + di * w;
                const int32_t lab = la[di], kind = ka[di], del = indel(kind);
                const Py_ssize_t ldi = ma[di];
                if (ldi == li) {
                    for (Py_ssize_t dj = lj; dj <= j; dj++) {
                        int32_t v;
                        if (mb[dj] == lj) {
                            v = min3(up[dj + 1] + del, row[dj] + indel(kb[dj]),
                                     up[dj] + relabel(lab, kind, lb[dj], kb[dj]));
                            td[di * m + dj] = v;
                        } else {
                            v = min3(up[dj + 1] + del, row[dj] + indel(kb[dj]),
                                     fd[ldi * w + mb[dj]] + td[di * m + dj]);
                        }
                        row[dj + 1] = v;
                    }
                } else {
                    const int32_t *base = fd + ldi * w;
                    const int32_t *tdr = td + di * m;
                    for (Py_ssize_t dj = lj; dj <= j; dj++)
                        row[dj + 1] = min3(up[dj + 1] + del, row[dj] + indel(kb[dj]), base[mb[dj]] + tdr[dj]);
                }
            }
        }
    }
    result = td[(n - 1) * m + (m - 1)];
done:
    free(td); free(fd); free(kra); free(krb); free(seen);
    return result;
}

static int check(Py_buffer *labels, Py_buffer *lml, Py_buffer *kinds, const char *which) {
    if (labels->itemsize != 4 || lml->itemsize != 4 || kinds->itemsize != 4 || labels->len != lml->len
        || labels->len != kinds->len) {
        PyErr_Format(PyExc_ValueError, "tree %s: labels, lml and kinds must be int32 buffers of equal length", which);
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
    Py_buffer la, ma, ka, lb, mb, kb;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*", &la, &ma, &ka, &lb, &mb, &kb)) return NULL;
    PyObject *out = NULL;
    if (check(&la, &ma, &ka, "a") && check(&lb, &mb, &kb, "b")) {
        int64_t d;
        Py_BEGIN_ALLOW_THREADS
        d = distance(la.buf, ma.buf, ka.buf, la.len / 4, lb.buf, mb.buf, kb.buf, lb.len / 4);
        Py_END_ALLOW_THREADS
        out = d < 0 ? PyErr_NoMemory() : PyLong_FromLongLong(d);
    }
    PyBuffer_Release(&la); PyBuffer_Release(&ma); PyBuffer_Release(&ka);
    PyBuffer_Release(&lb); PyBuffer_Release(&mb); PyBuffer_Release(&kb);
    return out;
}

static PyMethodDef methods[] = {
    {"ted", ted, METH_VARARGS,
     "ted(labels_a, lml_a, kinds_a, labels_b, lml_b, kinds_b) -> int: Zhang-Shasha distance of two post-order "
     "trees (kind bit 1: free insert/delete, bit 2: relabel costs 2)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_ted", NULL, -1, methods};

PyMODINIT_FUNC PyInit__ted(void) { return PyModule_Create(&module); }
