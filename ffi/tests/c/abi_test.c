/*
 * The C side of tests/c_abi.rs, written from include/blockverify.h alone: runs every batch of
 * a fixture file through the ABI, compares each result with the value the Rust API gave
 * (stored in the fixture), prints what it got, then checks misuse, thread-local errors and
 * concurrent use of one verifier.
 *
 * Usage: abi_test FIXTURE. Exit status 0 when everything matched.
 *
 * Fixture: sections, each a line "KIND ARGS... N" followed by N item lines, fields separated
 * by one space, byte strings in hex ("-" for empty):
 *   ed25519 POLICY N     items: KEY SIG MSG EXPECTED
 *   sm2 N                items: KEY SIG MSG EXPECTED              (bv_verify_sm2, default ID)
 *   sm2_ids N            items: KEY SIG MSG ID EXPECTED           (bv_verify_sm2 with IDs)
 *   sm2_ex FORMAT N      items: KEY SIG MSG ID EXPECTED           (bv_verify_sm2_ex)
 *   merkle SCHEME N      items: LEAF; then a line "root HEX" or "root error"
 *   block 1              item:  BYTES EXPECTED_RETURN VALID ROOT VERDICT,VERDICT,...
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockverify.h"

static int failures = 0;

#define CHECK(cond, ...)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            failures++;                                                                        \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                        \
            printf(__VA_ARGS__);                                                               \
            printf("\n");                                                                      \
        }                                                                                      \
    } while (0)

/* ---- a growable byte buffer with offsets: how a caller flattens a batch ---- */

typedef struct {
    uint8_t *data;
    size_t len, cap;
    size_t *offsets; /* n + 1 */
    size_t n;
} column;

static void *xrealloc(void *p, size_t size) {
    void *q = realloc(p, size ? size : 1);
    if (q == NULL) {
        perror("realloc");
        exit(2);
    }
    return q;
}

static void column_init(column *c, size_t n) {
    c->data = NULL;
    c->len = c->cap = 0;
    c->offsets = xrealloc(NULL, (n + 1) * sizeof(size_t));
    c->offsets[0] = 0;
    c->n = 0;
}

static void column_free(column *c) {
    free(c->data);
    free(c->offsets);
}

/* Appends the bytes a hex string encodes ("-" = none) as the next item. */
static void column_push_hex(column *c, const char *hex) {
    size_t bytes = strcmp(hex, "-") == 0 ? 0 : strlen(hex) / 2;
    if (c->len + bytes > c->cap) {
        c->cap = 2 * (c->len + bytes) + 64;
        c->data = xrealloc(c->data, c->cap);
    }
    for (size_t i = 0; i < bytes; i++) {
        unsigned int byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1) {
            fprintf(stderr, "bad hex: %s\n", hex);
            exit(2);
        }
        c->data[c->len++] = (uint8_t)byte;
    }
    c->offsets[++c->n] = c->len;
}

static void print_hex(const uint8_t *bytes, size_t len) {
    for (size_t i = 0; i < len; i++) {
        printf("%02x", bytes[i]);
    }
}

static void print_verdicts(const uint8_t *verdicts, size_t n) {
    for (size_t i = 0; i < n; i++) {
        printf("%s%u", i ? "," : "", verdicts[i]);
    }
    if (n == 0) {
        printf("-");
    }
}

/* ---- reading the fixture ---- */

static char *read_line(FILE *f) {
    static char *line = NULL;
    static size_t cap = 0;
    ssize_t got = getline(&line, &cap, f);
    if (got < 0) {
        return NULL;
    }
    if (got > 0 && line[got - 1] == '\n') {
        line[got - 1] = '\0';
    }
    return line;
}

/* Splits a line into at most `max` space-separated fields, in place. */
static size_t split(char *line, char **fields, size_t max) {
    size_t count = 0;
    for (char *tok = strtok(line, " "); tok && count < max; tok = strtok(NULL, " ")) {
        fields[count++] = tok;
    }
    return count;
}

/* ---- the sections ---- */

typedef enum { ED25519, SM2, SM2_IDS, SM2_EX } sig_kind;

static void signatures(bv_verifier *v, FILE *f, int section, sig_kind kind, int arg, size_t n) {
    column keys, sigs, msgs, ids;
    column_init(&keys, n);
    column_init(&sigs, n);
    column_init(&msgs, n);
    column_init(&ids, n);
    uint8_t *expected = xrealloc(NULL, n);
    uint8_t *verdicts = xrealloc(NULL, n);
    int has_id = kind == SM2_IDS || kind == SM2_EX;
    for (size_t i = 0; i < n; i++) {
        char *fields[5];
        char *line = read_line(f);
        size_t want = has_id ? 5 : 4;
        if (line == NULL || split(line, fields, 5) != want) {
            fprintf(stderr, "section %d: item %zu is not %zu fields\n", section, i, want);
            exit(2);
        }
        column_push_hex(&keys, fields[0]);
        column_push_hex(&sigs, fields[1]);
        column_push_hex(&msgs, fields[2]);
        if (has_id) {
            column_push_hex(&ids, fields[3]);
        }
        expected[i] = (uint8_t)atoi(fields[want - 1]);
    }
    int64_t invalid = -1;
    const char *name = "?";
    switch (kind) {
    case ED25519:
        name = arg == BV_POLICY_STRICT ? "ed25519/strict" : "ed25519/zip215";
        invalid = bv_verify_ed25519(v, arg, n, keys.data, sigs.data, msgs.data, msgs.offsets,
                                    verdicts);
        break;
    case SM2:
        name = "sm2";
        invalid = bv_verify_sm2(v, n, keys.data, sigs.data, msgs.data, msgs.offsets, NULL, NULL,
                                verdicts);
        break;
    case SM2_IDS:
        name = "sm2/ids";
        invalid = bv_verify_sm2(v, n, keys.data, sigs.data, msgs.data, msgs.offsets, ids.data,
                                ids.offsets, verdicts);
        break;
    case SM2_EX:
        name = arg == BV_SM2_SIG_DER ? "sm2_ex/der" : "sm2_ex/raw";
        invalid = bv_verify_sm2_ex(v, n, keys.data, keys.offsets, sigs.data, sigs.offsets, arg,
                                   msgs.data, msgs.offsets, ids.data, ids.offsets, verdicts);
        break;
    }
    CHECK(invalid >= 0, "section %d (%s): returned %lld: %s", section, name, (long long)invalid,
          bv_last_error());
    if (invalid >= 0) {
        int64_t expected_invalid = 0;
        for (size_t i = 0; i < n; i++) {
            expected_invalid += expected[i] != BV_VALID;
            CHECK(verdicts[i] == expected[i], "section %d (%s): item %zu: got %u (%s), want %u",
                  section, name, i, verdicts[i],
                  bv_reason_name(verdicts[i]) ? bv_reason_name(verdicts[i]) : "valid",
                  expected[i]);
        }
        CHECK(invalid == expected_invalid, "section %d (%s): %lld invalid, want %lld", section,
              name, (long long)invalid, (long long)expected_invalid);
        printf("result %d %s %lld ", section, name, (long long)invalid);
        print_verdicts(verdicts, n);
        printf("\n");
    }
    free(expected);
    free(verdicts);
    column_free(&keys);
    column_free(&sigs);
    column_free(&msgs);
    column_free(&ids);
}

static void merkle(bv_verifier *v, FILE *f, int section, int scheme, size_t n) {
    column leaves;
    column_init(&leaves, n);
    for (size_t i = 0; i < n; i++) {
        char *line = read_line(f);
        if (line == NULL) {
            fprintf(stderr, "section %d: missing leaf %zu\n", section, i);
            exit(2);
        }
        column_push_hex(&leaves, line);
    }
    char *fields[2];
    char *line = read_line(f);
    if (line == NULL || split(line, fields, 2) != 2 || strcmp(fields[0], "root") != 0) {
        fprintf(stderr, "section %d: no root line\n", section);
        exit(2);
    }
    uint8_t root[32];
    memset(root, 0xAA, sizeof root);
    bv_duplicate_pair pair;
    int rc = bv_merkle_root_ex(v, scheme, n, leaves.data, leaves.offsets, root, &pair);
    printf("result %d merkle/%d %d ", section, scheme, rc);
    if (strcmp(fields[1], "error") == 0) {
        CHECK(rc == -1, "section %d: scheme %d of %zu leaves: got %d, want an error", section,
              scheme, n, rc);
        CHECK(strlen(bv_last_error()) > 0, "section %d: no error message", section);
        CHECK(root[0] == 0xAA && root[31] == 0xAA, "section %d: root written on error", section);
        printf("error");
    } else {
        CHECK(rc == 0, "section %d: scheme %d: %s", section, scheme, bv_last_error());
        uint8_t want[32];
        column expected;
        column_init(&expected, 1);
        column_push_hex(&expected, fields[1]);
        memcpy(want, expected.data, 32);
        column_free(&expected);
        CHECK(memcmp(root, want, 32) == 0, "section %d: scheme %d of %zu leaves: wrong root",
              section, scheme, n);
        /* The plain call gives the same root. */
        uint8_t again[32];
        CHECK(bv_merkle_root(v, scheme, n, leaves.data, leaves.offsets, again) == 0 &&
                  memcmp(again, root, 32) == 0,
              "section %d: bv_merkle_root differs from bv_merkle_root_ex", section);
        print_hex(root, 32);
        printf(" %u", pair.found);
    }
    printf("\n");
    column_free(&leaves);
}

static void block(bv_verifier *v, FILE *f, int section) {
    char *fields[5];
    char *line = read_line(f);
    if (line == NULL || split(line, fields, 5) != 5) {
        fprintf(stderr, "section %d: a block item is 5 fields\n", section);
        exit(2);
    }
    column bytes;
    column_init(&bytes, 1);
    column_push_hex(&bytes, fields[0]);
    int64_t records = bv_block_record_count(bytes.data, bytes.len);
    CHECK(records >= 0, "section %d: bv_block_record_count: %s", section, bv_last_error());
    uint8_t *verdicts = xrealloc(NULL, records > 0 ? (size_t)records : 1);
    bv_block_summary summary;
    int64_t rc = bv_verify_block(v, bytes.data, bytes.len, verdicts, (size_t)records, &summary);
    CHECK(rc == atoll(fields[1]), "section %d: bv_verify_block returned %lld, want %s (%s)",
          section, (long long)rc, fields[1], bv_last_error());
    if (rc >= 0) {
        CHECK(summary.records == (uint64_t)records, "section %d: %llu records, want %lld",
              section, (unsigned long long)summary.records, (long long)records);
        CHECK(summary.valid == atoi(fields[2]), "section %d: valid %u", section, summary.valid);
        CHECK((int64_t)(summary.invalid + summary.duplicates) == rc,
              "section %d: invalid + duplicates != return value", section);
        column root;
        column_init(&root, 1);
        column_push_hex(&root, fields[3]);
        CHECK(memcmp(summary.computed_root, root.data, 32) == 0, "section %d: wrong root",
              section);
        CHECK(summary.root_matches == (memcmp(summary.computed_root, summary.header_root, 32) == 0),
              "section %d: root_matches", section);
        column_free(&root);
        /* Expected verdicts: comma-separated. */
        char *rest = fields[4];
        for (int64_t i = 0; i < records; i++) {
            char *end;
            unsigned long want = strtoul(rest, &end, 10);
            CHECK(verdicts[i] == want, "section %d: record %lld: got %u, want %lu", section,
                  (long long)i, verdicts[i], want);
            rest = *end == ',' ? end + 1 : end;
        }
        printf("result %d block %lld %u ", section, (long long)rc, summary.valid);
        print_hex(summary.computed_root, 32);
        printf(" ");
        print_verdicts(verdicts, (size_t)records);
        printf("\n");
    }
    free(verdicts);
    column_free(&bytes);
}

/* ---- misuse: every case an error with a message, outputs untouched ---- */

static int message_has(const char *needle) {
    return strstr(bv_last_error(), needle) != NULL;
}

static void misuse(bv_verifier *v) {
    uint8_t keys[2 * 64], sigs[2 * 64], msgs[8] = {0}, verdicts[2], root[32];
    size_t offsets[3] = {0, 4, 8};
    size_t backwards[3] = {0, 5, 3};
    memset(keys, 1, sizeof keys);
    memset(sigs, 2, sizeof sigs);

    CHECK(bv_verifier_new(0, 7) == NULL && message_has("backend"), "backend 7: %s",
          bv_last_error());
    CHECK(bv_verifier_new(100000, BV_BACKEND_CPU) == NULL && message_has("thread"),
          "100000 threads: %s", bv_last_error());

    memset(verdicts, 0xAA, sizeof verdicts);
    CHECK(bv_verify_ed25519(NULL, 0, 2, keys, sigs, msgs, offsets, verdicts) == BV_ERR_USAGE &&
              message_has("NULL"),
          "NULL handle: %s", bv_last_error());
    CHECK(bv_verify_ed25519(v, 0, 2, NULL, sigs, msgs, offsets, verdicts) == -1 &&
              message_has("keys"),
          "NULL keys: %s", bv_last_error());
    CHECK(bv_verify_ed25519(v, 0, 2, keys, NULL, msgs, offsets, verdicts) == -1 &&
              message_has("sigs"),
          "NULL sigs: %s", bv_last_error());
    CHECK(bv_verify_ed25519(v, 0, 2, keys, sigs, NULL, offsets, verdicts) == -1 &&
              message_has("msgs"),
          "NULL msgs: %s", bv_last_error());
    CHECK(bv_verify_ed25519(v, 0, 2, keys, sigs, msgs, NULL, verdicts) == -1 &&
              message_has("msg_offsets"),
          "NULL offsets: %s", bv_last_error());
    CHECK(bv_verify_ed25519(v, 0, 2, keys, sigs, msgs, offsets, NULL) == -1 &&
              message_has("verdicts"),
          "NULL verdicts: %s", bv_last_error());
    CHECK(bv_verify_ed25519(v, 0, 2, keys, sigs, msgs, backwards, verdicts) == -1 &&
              message_has("decrease"),
          "decreasing offsets: %s", bv_last_error());
    CHECK(bv_verify_ed25519(v, 9, 2, keys, sigs, msgs, offsets, verdicts) == -1 &&
              message_has("policy"),
          "policy 9: %s", bv_last_error());
    CHECK(bv_verify_ed25519(v, 0, 2, keys, sigs, msgs, offsets, msgs + 1) == -1 &&
              message_has("overlaps"),
          "verdicts inside msgs: %s", bv_last_error());
    CHECK(verdicts[0] == 0xAA && verdicts[1] == 0xAA, "verdicts written on an error");
    /* n = 0: nothing is read, every pointer may be NULL. */
    CHECK(bv_verify_ed25519(v, 0, 0, NULL, NULL, NULL, NULL, NULL) == 0, "n = 0: %s",
          bv_last_error());
    CHECK(bv_verify_sm2(v, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL) == 0, "sm2 n = 0: %s",
          bv_last_error());
    /* Every message empty: msgs may be NULL. */
    size_t empty[3] = {0, 0, 0};
    CHECK(bv_verify_ed25519(v, 0, 2, keys, sigs, NULL, empty, verdicts) == 2,
          "empty messages, NULL msgs: %s", bv_last_error());

    CHECK(bv_verify_sm2(v, 2, keys, sigs, msgs, offsets, msgs, NULL, verdicts) == -1 &&
              message_has("id_offsets"),
          "ids without id_offsets: %s", bv_last_error());
    CHECK(bv_verify_sm2_ex(v, 2, keys, offsets, sigs, offsets, 5, msgs, offsets, NULL, NULL,
                           verdicts) == -1 &&
              message_has("sig_format"),
          "sig_format 5: %s", bv_last_error());
    CHECK(bv_verify_sm2_ex(v, 2, keys, backwards, sigs, offsets, BV_SM2_SIG_RAW, msgs, offsets,
                           NULL, NULL, verdicts) == -1 &&
              message_has("key_offsets"),
          "decreasing key offsets: %s", bv_last_error());
    /* A raw signature of the wrong length is the item's verdict, not an error. */
    size_t short_sigs[3] = {0, 63, 126};
    size_t key_rows[3] = {0, 64, 128};
    CHECK(bv_verify_sm2_ex(v, 2, keys, key_rows, sigs, short_sigs, BV_SM2_SIG_RAW, msgs, offsets,
                           NULL, NULL, verdicts) == 2,
          "63-byte raw signatures: %s", bv_last_error());

    memset(root, 0xAA, sizeof root);
    CHECK(bv_merkle_root(v, 42, 2, msgs, offsets, root) == -1 && message_has("scheme"),
          "scheme 42: %s", bv_last_error());
    CHECK(bv_merkle_root(v, BV_SCHEME_RFC9162, 2, msgs, offsets, NULL) == -1 &&
              message_has("root"),
          "NULL root: %s", bv_last_error());
    CHECK(bv_merkle_root(v, BV_SCHEME_RFC9162, 2, NULL, offsets, root) == -1 &&
              message_has("leaves"),
          "NULL leaves: %s", bv_last_error());
    CHECK(bv_merkle_root(v, BV_SCHEME_BITCOIN, 2, msgs, offsets, root) == -1 &&
              message_has("32"),
          "4-byte bitcoin leaves: %s", bv_last_error());
    CHECK(bv_merkle_root(v, BV_SCHEME_CHAINMAKER_SM3, 0, NULL, NULL, root) == -1,
          "empty ChainMaker tree");
    CHECK(bv_merkle_root(v, BV_SCHEME_RFC9162, 2, msgs, offsets, msgs) == -1 &&
              message_has("overlaps"),
          "root inside leaves: %s", bv_last_error());
    CHECK(root[0] == 0xAA, "root written on an error");
    CHECK(bv_merkle_root(v, BV_SCHEME_RFC9162, 0, NULL, NULL, root) == 0, "empty RFC 9162: %s",
          bv_last_error());

    bv_block_summary summary;
    CHECK(bv_verify_block(v, msgs, sizeof msgs, NULL, 0, &summary) == BV_ERR_MALFORMED &&
              message_has("malformed"),
          "8-byte block: %s", bv_last_error());
    CHECK(bv_verify_block(v, msgs, sizeof msgs, NULL, 0, NULL) == BV_ERR_USAGE &&
              message_has("summary"),
          "NULL summary: %s", bv_last_error());
    CHECK(bv_block_record_count(msgs, sizeof msgs) == BV_ERR_MALFORMED, "8-byte header");

    CHECK(bv_reason_name(BV_VALID) == NULL, "name of 0");
    CHECK(bv_reason_name(200) == NULL, "name of 200");
    CHECK(strcmp(bv_reason_name(BV_REASON_EQUATION_FAILED), "equation_failed") == 0,
          "name of 7");
    CHECK(strcmp(bv_reason_name(BV_DUPLICATE), "duplicate") == 0, "name of 255");
    CHECK(bv_verifier_has_gpu(NULL) == -1, "has_gpu(NULL)");
    CHECK(strlen(bv_version()) > 0, "version");
    bv_verifier_free(NULL);
    printf("misuse ok\n");
}

/* ---- threads: errors are per thread; one verifier serves many threads at once ---- */

typedef struct {
    bv_verifier *v;
    const uint8_t *keys, *sigs, *msgs;
    const size_t *offsets;
    size_t n;
    const uint8_t *expected;
    int ok;
    char error[256];
} job;

static void *worker(void *arg) {
    job *j = arg;
    uint8_t *verdicts = xrealloc(NULL, j->n);
    j->ok = 1;
    for (int round = 0; round < 5; round++) {
        int64_t rc = bv_verify_ed25519(j->v, BV_POLICY_ZIP215, j->n, j->keys, j->sigs, j->msgs,
                                       j->offsets, verdicts);
        j->ok &= rc >= 0 && memcmp(verdicts, j->expected, j->n) == 0;
    }
    /* An error on this thread... */
    j->ok &= bv_merkle_root(j->v, 99, 0, NULL, NULL, verdicts) == -1;
    snprintf(j->error, sizeof j->error, "%s", bv_last_error());
    free(verdicts);
    return NULL;
}

static void threads(bv_verifier *v) {
    /* Reuse the first Ed25519 section's batch: reread by the caller into these. */
    enum { N = 3 };
    static const uint8_t zeros[N * 64];
    uint8_t expected[N];
    size_t offsets[N + 1] = {0, 0, 0, 0};
    CHECK(bv_verify_ed25519(v, BV_POLICY_ZIP215, N, zeros, zeros, NULL, offsets, expected) >= 0,
          "threads: %s", bv_last_error());
    /* ...and a different one on the main thread. */
    bv_merkle_root(v, 77, 0, NULL, NULL, NULL);
    job jobs[4];
    pthread_t ids[4];
    for (int t = 0; t < 4; t++) {
        jobs[t] = (job){v, zeros, zeros, NULL, offsets, N, expected, 0, {0}};
        CHECK(pthread_create(&ids[t], NULL, worker, &jobs[t]) == 0, "pthread_create");
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(ids[t], NULL);
        CHECK(jobs[t].ok, "thread %d: wrong verdicts or no error", t);
        CHECK(strstr(jobs[t].error, "99") != NULL, "thread %d saw error '%s'", t, jobs[t].error);
    }
    CHECK(message_has("77"), "the main thread's error changed to '%s'", bv_last_error());
    printf("threads ok\n");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s FIXTURE\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (f == NULL) {
        perror(argv[1]);
        return 2;
    }
    bv_verifier *v = bv_verifier_new(2, BV_BACKEND_CPU);
    if (v == NULL) {
        fprintf(stderr, "bv_verifier_new: %s\n", bv_last_error());
        return 2;
    }
    printf("blockverify %s\n", bv_version());
    int section = 0;
    char *line;
    while ((line = read_line(f)) != NULL) {
        char *fields[4];
        size_t count = split(line, fields, 4);
        if (count == 0) {
            continue;
        }
        size_t n = strtoul(fields[count - 1], NULL, 10);
        int arg = count == 3 ? atoi(fields[1]) : 0;
        if (strcmp(fields[0], "ed25519") == 0 && count == 3) {
            signatures(v, f, section, ED25519, arg, n);
        } else if (strcmp(fields[0], "sm2") == 0 && count == 2) {
            signatures(v, f, section, SM2, 0, n);
        } else if (strcmp(fields[0], "sm2_ids") == 0 && count == 2) {
            signatures(v, f, section, SM2_IDS, 0, n);
        } else if (strcmp(fields[0], "sm2_ex") == 0 && count == 3) {
            signatures(v, f, section, SM2_EX, arg, n);
        } else if (strcmp(fields[0], "merkle") == 0 && count == 3) {
            merkle(v, f, section, arg, n);
        } else if (strcmp(fields[0], "block") == 0 && count == 2) {
            block(v, f, section);
        } else {
            fprintf(stderr, "unknown section: %s\n", fields[0]);
            return 2;
        }
        section++;
    }
    fclose(f);
    misuse(v);
    threads(v);
    bv_verifier_free(v);
    printf("%d sections, %d failures\n", section, failures);
    return failures == 0 ? 0 : 1;
}
