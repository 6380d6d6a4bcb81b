/*
 * The smallest useful C program against blockverify.h: verify a batch of Ed25519 signatures
 * (one call, whatever the batch size) and compute a Merkle root.
 *
 * Build (from the repository root, after `cargo build --release -p blockverify-ffi`):
 *   cc -Iffi/include ffi/examples/c/verify.c -Ltarget/release -lblockverify_ffi \
 *      -Wl,-rpath,"$PWD/target/release" -o verify               # shared library
 *   cc -Iffi/include ffi/examples/c/verify.c target/release/libblockverify_ffi.a \
 *      -lpthread -ldl -lm -Wl,-z,noexecstack -o verify            # static library
 *   ./verify
 */
#include <stdio.h>
#include <string.h>

#include "blockverify.h"

static void hex_to_bytes(const char *hex, uint8_t *out, size_t len) {
    for (size_t i = 0; i < len; i++) {
        unsigned int byte = 0;
        sscanf(hex + 2 * i, "%2x", &byte);
        out[i] = (uint8_t)byte;
    }
}

static void print_hex(const char *label, const uint8_t *bytes, size_t len) {
    printf("%s", label);
    for (size_t i = 0; i < len; i++) {
        printf("%02x", bytes[i]);
    }
    printf("\n");
}

int main(void) {
    /* One verifier per process, shared by every thread: 0 = a worker per core. */
    bv_verifier *v = bv_verifier_new(0, BV_BACKEND_CPU);
    if (v == NULL) {
        fprintf(stderr, "bv_verifier_new: %s\n", bv_last_error());
        return 2;
    }

    /* RFC 8032 section 7.1, tests 1 and 2, and test 2 again with its message changed. */
    enum { N = 3 };
    uint8_t keys[N * 32], sigs[N * 64];
    hex_to_bytes("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", keys, 32);
    hex_to_bytes("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                 "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b", sigs, 64);
    hex_to_bytes("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", keys + 32, 32);
    hex_to_bytes("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
                 "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00", sigs + 64, 64);
    memcpy(keys + 64, keys + 32, 32);
    memcpy(sigs + 128, sigs + 64, 64);
    /* Messages concatenated, with n + 1 offsets: "", "\x72", "\x73". */
    const uint8_t msgs[] = {0x72, 0x73};
    const size_t msg_offsets[N + 1] = {0, 0, 1, 2};
    uint8_t verdicts[N];

    int64_t invalid = bv_verify_ed25519(v, BV_POLICY_ZIP215, N, keys, sigs, msgs, msg_offsets,
                                        verdicts);
    if (invalid < 0) {
        fprintf(stderr, "bv_verify_ed25519: %s\n", bv_last_error());
        return 2;
    }
    printf("ed25519: %lld of %d invalid\n", (long long)invalid, N);
    for (int i = 0; i < N; i++) {
        printf("  item %d: %s\n", i, verdicts[i] == BV_VALID ? "valid" : bv_reason_name(verdicts[i]));
    }

    /* A Merkle root: RFC 9162 over three leaves of any length. */
    const uint8_t leaves[] = "title deed 1title deed 2title deed 10";
    const size_t leaf_offsets[] = {0, 12, 24, 37};
    uint8_t root[32];
    if (bv_merkle_root(v, BV_SCHEME_RFC9162, 3, leaves, leaf_offsets, root) != 0) {
        fprintf(stderr, "bv_merkle_root: %s\n", bv_last_error());
        return 2;
    }
    print_hex("rfc9162 root: ", root, 32);

    /* Misuse is an error value with a message, never a crash. */
    if (bv_merkle_root(v, 42, 3, leaves, leaf_offsets, root) == -1) {
        printf("scheme 42: %s\n", bv_last_error());
    }

    bv_verifier_free(v);
    return invalid == 1 && verdicts[0] == BV_VALID && verdicts[1] == BV_VALID &&
                   verdicts[2] == BV_REASON_EQUATION_FAILED
               ? 0
               : 1;
}
