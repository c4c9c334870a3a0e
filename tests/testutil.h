/* testutil.h - shared helpers for squint's Check tests. */
#ifndef SQ_TESTUTIL_H
#define SQ_TESTUTIL_H

#include <check.h>
#include <stdlib.h>

#include "error.h"
#include "tensor.h"

/* A tensor from literal values; aborts the test on failure. */
static inline sq_tensor *tu_tensor(const size_t *shape, int ndim, const float *v)
{
    sq_tensor *t = NULL;
    sq_error err;
    ck_assert_msg(sq_tensor_from_floats(shape, ndim, v, &t, &err) == SQ_OK, "%s", err.msg);
    return t;
}

/* main() for a test program made of one suite. */
#define TU_MAIN(make_suite)                                      \
    int main(void)                                               \
    {                                                            \
        SRunner *sr = srunner_create(make_suite());              \
        srunner_run_all(sr, CK_NORMAL);                          \
        int failed = srunner_ntests_failed(sr);                  \
        srunner_free(sr);                                        \
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;        \
    }

#endif
