/* test_pack.c - bit packing: exact byte layouts, sizes, round trips at every
 * width and every start offset. */
#include <string.h>

#include "quant.h"
#include "simd.h"
#include "testutil.h"

START_TEST(test_packed_sizes)
{
    size_t b;
    sq_error err;
    ck_assert(sq_packed_size(0, 8, &b, &err) == SQ_OK && b == 0);
    ck_assert(sq_packed_size(5, 8, &b, &err) == SQ_OK && b == 5);
    ck_assert(sq_packed_size(5, 4, &b, &err) == SQ_OK && b == 3);
    ck_assert(sq_packed_size(8, 3, &b, &err) == SQ_OK && b == 3);
    ck_assert(sq_packed_size(9, 3, &b, &err) == SQ_OK && b == 4);
    ck_assert(sq_packed_size(3, 2, &b, &err) == SQ_OK && b == 1);
    ck_assert(sq_packed_size(11, 7, &b, &err) == SQ_OK && b == 10);
    ck_assert(sq_packed_size(SIZE_MAX, 4, &b, &err) == SQ_OK && b == SIZE_MAX / 2 + 1);
    /* at most 8 bits a code, the byte count never exceeds the element count */
    ck_assert(sq_packed_size(SIZE_MAX, 8, &b, &err) == SQ_OK && b == SIZE_MAX);
    ck_assert(sq_packed_size(SIZE_MAX, 3, &b, &err) == SQ_OK && b == SIZE_MAX / 8 * 3 + 3);
    ck_assert_int_eq(sq_packed_size(4, 9, &b, &err), SQ_ERR_ARG);
}
END_TEST

START_TEST(test_int4_layout_low_nibble_first)
{
    const int8_t codes[] = {-8, 7, 0, 1, -1};
    uint8_t out[3];
    sq_pack_codes(codes, 5, 4, out);
    ck_assert_uint_eq(out[0], 0xF0); /* 0 | 15 << 4 */
    ck_assert_uint_eq(out[1], 0x98); /* 8 | 9 << 4 */
    ck_assert_uint_eq(out[2], 0x07); /* 7, padding nibble zero */
}
END_TEST

START_TEST(test_int3_bit_stream)
{
    const int8_t codes[] = {-4, -3, -2, -1, 0, 1, 2, 3, 3};
    uint8_t out[4];
    sq_pack_codes(codes, 9, 3, out);
    /* offsets 0..7 at 3 bits each: 0xFAC688 little-endian, then 7 */
    ck_assert_uint_eq(out[0], 0x88);
    ck_assert_uint_eq(out[1], 0xC6);
    ck_assert_uint_eq(out[2], 0xFA);
    ck_assert_uint_eq(out[3], 0x07);
}
END_TEST

START_TEST(test_int8_and_int2_layout)
{
    const int8_t c8[] = {-128, 127, 0}, c2[] = {-2, -1, 0, 1, 1};
    uint8_t o8[3], o2[2];
    sq_pack_codes(c8, 3, 8, o8);
    ck_assert(o8[0] == 0 && o8[1] == 255 && o8[2] == 128);
    sq_pack_codes(c2, 5, 2, o2);
    ck_assert_uint_eq(o2[0], 0xE4); /* 0 | 1<<2 | 2<<4 | 3<<6 */
    ck_assert_uint_eq(o2[1], 0x03);
}
END_TEST

/* Pack random codes of every width and unpack every sub-range, on the
 * portable path (_i = 1) and the fastest one (_i = 0); both write the same
 * bytes and nothing past the packed size. */
START_TEST(test_roundtrip_every_width_and_offset)
{
    enum { N = 203 };
    int8_t codes[N], back[N];
    uint8_t packed[N], other[N];
    unsigned seed = 12345;
    sq_simd_force_portable(_i == 1);
    for (int bits = 1; bits <= 8; bits++) {
        int lo = -(1 << (bits - 1)), span = 1 << bits;
        for (int i = 0; i < N; i++) {
            seed = seed * 1103515245u + 12345u;
            codes[i] = (int8_t)(lo + (int)((seed >> 16) % (unsigned)span));
        }
        memset(packed, 0xAA, sizeof packed);
        sq_pack_codes(codes, N, bits, packed);
        memset(other, 0xAA, sizeof other);
        sq_simd_force_portable(_i != 1);
        sq_pack_codes(codes, N, bits, other);
        sq_simd_force_portable(_i == 1);
        ck_assert_msg(memcmp(packed, other, N) == 0, "bits %d: both paths pack alike", bits);
        for (size_t start = 0; start < 20; start++) {
            for (size_t n = 0; start + n <= N; n += 37) {
                memset(back, 0x55, sizeof back);
                sq_unpack_codes(packed, start, n, bits, back);
                ck_assert_msg(memcmp(back, codes + start, n) == 0, "bits %d start %zu n %zu", bits, start, n);
            }
        }
        sq_unpack_codes(packed, 0, N, bits, back);
        ck_assert_mem_eq(back, codes, N);
        /* padding bits after the last code are zero */
        size_t bytes;
        ck_assert(sq_packed_size(N, bits, &bytes, NULL) == SQ_OK);
        size_t used_bits = (size_t)N * (size_t)bits;
        if (used_bits % 8)
            ck_assert_uint_eq(packed[bytes - 1] >> (used_bits % 8), 0);
        for (size_t k = bytes; k < N; k++)
            ck_assert_msg(packed[k] == 0xAA, "bits %d: byte %zu past the packed size was written", bits, k);
    }
    sq_simd_force_portable(false);
}
END_TEST

static Suite *pack_suite(void)
{
    Suite *s = suite_create("pack");
    TCase *tc = tcase_create("pack");
    tcase_add_test(tc, test_packed_sizes);
    tcase_add_test(tc, test_int4_layout_low_nibble_first);
    tcase_add_test(tc, test_int3_bit_stream);
    tcase_add_test(tc, test_int8_and_int2_layout);
    tcase_add_loop_test(tc, test_roundtrip_every_width_and_offset, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(pack_suite)
