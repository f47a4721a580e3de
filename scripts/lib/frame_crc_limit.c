/* The framing+CRC limit for scripts/bench-parse: what any P1 decoder must at least do, done
   as plainly fast as C does it. It finds each telegram of a capture ('/' to '!'), computes its
   CRC-16/ARC eight bytes a step (slice-by-8) and compares it with the four hex digits after
   the '!'. The capture is read into memory first; the median of ROUNDS passes is printed as
   "TELEGRAMS_WITH_GOOD_CRC BYTES SECONDS".
     cc -O2 -o frame_crc_limit frame_crc_limit.c && ./frame_crc_limit CAPTURE [ROUNDS] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint16_t table[8][256];

static void make_tables(void) {
    for (int i = 0; i < 256; i++) {
        uint16_t crc = i;
        for (int k = 0; k < 8; k++) crc = (crc & 1) ? (crc >> 1) ^ 0xA001 : crc >> 1;
        table[0][i] = crc;
    }
    for (int i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xFF];
}

static uint16_t crc16(const uint8_t *p, size_t n) {
    uint16_t crc = 0;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= crc;
        crc = table[7][w & 0xFF] ^ table[6][(w >> 8) & 0xFF] ^ table[5][(w >> 16) & 0xFF] ^
              table[4][(w >> 24) & 0xFF] ^ table[3][(w >> 32) & 0xFF] ^
              table[2][(w >> 40) & 0xFF] ^ table[1][(w >> 48) & 0xFF] ^ table[0][w >> 56];
    }
    while (n--) crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xFF];
    return crc;
}

static int hex(uint8_t c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }

static long good_telegrams(const uint8_t *p, const uint8_t *end) {
    long good = 0;
    while ((p = memchr(p, '/', end - p))) {
        const uint8_t *bang = memchr(p, '!', end - p);
        if (!bang || end - bang < 5) break;
        uint16_t sent = hex(bang[1]) << 12 | hex(bang[2]) << 8 | hex(bang[3]) << 4 | hex(bang[4]);
        good += crc16(p, bang - p + 1) == sent;
        p = bang + 5;
    }
    return good;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: frame_crc_limit CAPTURE [ROUNDS]\n");
        return 2;
    }
    FILE *file = fopen(argv[1], "rb");
    if (!file) {
        perror(argv[1]);
        return 66;
    }
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    uint8_t *capture = malloc(size);
    if (!capture || fread(capture, 1, size, file) != (size_t)size) return 1;
    fclose(file);
    make_tables();
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    if (rounds < 1) rounds = 1;
    double *seconds = calloc(rounds, sizeof *seconds);
    long good = 0;
    for (int r = 0; r < rounds; r++) {
        struct timespec start, end;
        clock_gettime(CLOCK_MONOTONIC, &start);
        good = good_telegrams(capture, capture + size);
        clock_gettime(CLOCK_MONOTONIC, &end);
        seconds[r] = (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
    }
    qsort(seconds, rounds, sizeof *seconds, by_value);
    printf("%ld %ld %.6f\n", good, size, seconds[rounds / 2]);
    return 0;
}
