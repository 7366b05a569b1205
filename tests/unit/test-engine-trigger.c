/*
 * Unit tests for engine/trigger: struct trigger and its JSON forms
 * (luci-scheduler-spec.md 3.5, 5.3 step 2; shapes in tasks/task.h).
 * Expected objects are written out by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/time.h"
#include "engine/trigger.h"

#define T0 (INT64_C(1442270520) * NS_PER_SEC) /* 2015-09-14T22:42:00Z */

static json_t *load(int line, const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
    if (!j) {
        print_error("line %d: bad JSON in test: %s\n", line, e.text);
        fail();
    }
    return j;
}

static void expect_json(int line, const json_t *got, const char *want_text)
{
    json_t *want = load(line, want_text);
    if (!json_equal((json_t *)got, want)) {
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
        print_error("line %d: got %s\n", line, g ? g : "(null)");
        free(g);
        fail();
    }
    json_decref(want);
}

static void test_fields(void **state)
{
    (void)state;
    static const struct {
        int line;
        const char *json;
        int rc; /* of trigger_from_json */
        const char *id;
        int64_t created;
        int64_t order;
        const char *user; /* NULL: absent */
        enum trigger_payload kind;
    } rows[] = {
        {__LINE__, "{}", -EINVAL, NULL, 0, 0, NULL, 0},
        {__LINE__, "[]", -EINVAL, NULL, 0, 0, NULL, 0},
        {__LINE__, "{\"id\": \"\"}", -EINVAL, NULL, 0, 0, NULL, 0},
        {__LINE__, "{\"id\": 5, \"created\": null}", -EINVAL, NULL, 0, 0, NULL, 0},
        {__LINE__,
         "{\"id\": \"a\", \"created\": \"2015-09-14T22:42:00Z\", \"orderInBatch\": \"3\","
         " \"emittedByUser\": \"user:a@example.com\"}",
         0, "a", T0, 3, "user:a@example.com", TRIGGER_PAYLOAD_NONE},
        {__LINE__,
         "{\"id\": \"b\", \"created\": \"2015-09-14T22:42:00.5Z\", \"orderInBatch\": 7,"
         " \"noop\": {\"data\": \"x\"}}",
         0, "b", T0 + 500 * NS_PER_MS, 7, NULL, TRIGGER_PAYLOAD_NOOP},
        {__LINE__, "{\"id\": \"c\", \"orderInBatch\": \"-2\"}", 0, "c", TIME_ZERO, -2, NULL,
         TRIGGER_PAYLOAD_NONE},
        {__LINE__, "{\"id\": \"c2\", \"orderInBatch\": \"x1\"}", 0, "c2", TIME_ZERO, 0, NULL,
         TRIGGER_PAYLOAD_NONE},
        {__LINE__, "{\"id\": \"d\", \"created\": \"yesterday\"}", -EINVAL, NULL, 0, 0, NULL, 0},
        {__LINE__, "{\"id\": \"e\", \"created\": 1442270520}", -EINVAL, NULL, 0, 0, NULL, 0},
        {__LINE__, "{\"id\": \"f\", \"foo\": {\"x\": 1}}", 0, "f", TIME_ZERO, 0, NULL,
         TRIGGER_PAYLOAD_UNKNOWN},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        json_t *o = load(rows[i].line, rows[i].json);
        struct trigger t = {.id = (char *)"untouched"};
        int rc = trigger_from_json(o, &t);
        bool ok = rc == rows[i].rc;
        if (ok && rc == 0)
            ok = strcmp(t.id, rows[i].id) == 0 && t.created == rows[i].created &&
                 t.order_in_batch == rows[i].order && t.kind == rows[i].kind &&
                 (rows[i].user ? t.emitted_by_user && strcmp(t.emitted_by_user, rows[i].user) == 0
                               : t.emitted_by_user == NULL);
        if (ok && rc < 0)
            ok = strcmp(t.id, "untouched") == 0;
        if (!ok) {
            print_error("line %d: rc %d\n", rows[i].line, rc);
            fail();
        }
        if (rc == 0)
            trigger_release(&t);
        json_decref(o);
    }
}

/* The internal form survives a decode and an encode unchanged (task.h shape). */
static void test_round_trip(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "{\"id\": \"noop:1:0\", \"jobId\": \"p/j\", \"invocationId\": \"12\","
        " \"created\": \"2015-09-14T22:42:00.000000001Z\", \"orderInBatch\": \"4\","
        " \"title\": \"T\", \"url\": \"https://u\", \"emittedByUser\": \"user:a@example.com\","
        " \"noop\": {\"data\": \"d\"}}",
        "{\"id\": \"g\", \"orderInBatch\": \"0\", \"gitiles\": {\"repo\": \"r\", \"ref\": \"x\"}}",
        /* An unknown payload is kept verbatim. */
        "{\"id\": \"u\", \"orderInBatch\": \"0\", \"somethingNew\": {\"k\": [1, 2]}}",
    };
    for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
        json_t *o = load(__LINE__, texts[i]), *back = NULL;
        struct trigger t, copy;
        assert_int_equal(trigger_from_json(o, &t), 0);
        assert_int_equal(trigger_copy(&t, &copy), 0);
        trigger_release(&t);
        assert_int_equal(trigger_to_json(&copy, &back), 0);
        expect_json(__LINE__, back, texts[i]);
        trigger_release(&copy);
        json_decref(back);
        json_decref(o);
    }
}

/* A pending-set row: created and orderInBatch come from the columns, not the text. */
static void test_from_row(void **state)
{
    (void)state;
    struct trigger t;
    assert_int_equal(trigger_from_row("{\"id\": \"a\", \"created\": \"2000-01-01T00:00:00Z\","
                                      " \"orderInBatch\": \"9\", \"title\": \"T\"}",
                                      "a", T0, 2, &t),
                     0);
    assert_string_equal(t.id, "a");
    assert_string_equal(t.title, "T");
    assert_true(t.created == T0);
    assert_int_equal(t.order_in_batch, 2);
    trigger_release(&t);

    /* created 0 in the column means absent. */
    assert_int_equal(trigger_from_row("{\"id\": \"b\"}", "b", 0, 0, &t), 0);
    assert_true(t.created == TIME_ZERO);
    trigger_release(&t);

    /* A corrupt row still gives its id, so that it can be popped. */
    assert_int_equal(trigger_from_row("{not json", "c", T0, 1, &t), 0);
    assert_string_equal(t.id, "c");
    assert_int_equal(t.kind, TRIGGER_PAYLOAD_NONE);
    assert_true(t.created == T0);
    trigger_release(&t);
}

static void test_payload_kind(void **state)
{
    (void)state;
    static const struct {
        int line;
        const char *json;
        enum trigger_payload want;
    } rows[] = {
        {__LINE__, "{\"id\": \"a\", \"title\": \"t\", \"url\": \"u\"}", TRIGGER_PAYLOAD_NONE},
        {__LINE__, "{\"cron\": {\"generation\": \"3\"}}", TRIGGER_PAYLOAD_CRON},
        {__LINE__, "{\"webui\": {}}", TRIGGER_PAYLOAD_WEBUI},
        {__LINE__, "{\"noop\": {\"data\": \"x\"}}", TRIGGER_PAYLOAD_NOOP},
        {__LINE__, "{\"gitiles\": {\"repo\": \"r\"}}", TRIGGER_PAYLOAD_GITILES},
        {__LINE__, "{\"buildbucket\": {}}", TRIGGER_PAYLOAD_BUILDBUCKET},
        {__LINE__, "{\"cron\": null}", TRIGGER_PAYLOAD_NONE},
        {__LINE__, "{\"foo\": {}}", TRIGGER_PAYLOAD_UNKNOWN},
        {__LINE__, "{\"noop\": \"x\"}", TRIGGER_PAYLOAD_UNKNOWN},
        {__LINE__, "{\"noop\": {}, \"cron\": {}}", TRIGGER_PAYLOAD_UNKNOWN},
        {__LINE__, "[]", TRIGGER_PAYLOAD_NONE},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        json_t *t = load(rows[i].line, rows[i].json);
        const json_t *body = (const json_t *)1;
        enum trigger_payload k = trigger_payload_kind(t, &body);
        bool body_ok = (k == TRIGGER_PAYLOAD_NONE || k == TRIGGER_PAYLOAD_UNKNOWN)
                           ? body == NULL
                           : body == json_object_get(t, trigger_payload_key(k));
        if (k != rows[i].want || !body_ok) {
            print_error("line %d: got %d\n", rows[i].line, (int)k);
            fail();
        }
        json_decref(t);
    }
    assert_string_equal(trigger_payload_key(TRIGGER_PAYLOAD_BUILDBUCKET), "buildbucket");
    assert_null(trigger_payload_key(TRIGGER_PAYLOAD_NONE));
}

static void test_api(void **state)
{
    (void)state;
    static const struct {
        int line;
        const char *pub;
        int64_t order;
        const char *identity;
        const char *err; /* NULL: accepted */
        const char *want;
    } rows[] = {
        {__LINE__,
         "{\"id\": \"a\", \"title\": \"T\", \"url\": \"https://u\", \"noop\": {\"data\": \"d\"}}",
         2, "user:x@example.com", NULL,
         "{\"id\": \"a\", \"created\": \"2015-09-14T22:42:00Z\", \"orderInBatch\": \"2\","
         " \"title\": \"T\", \"url\": \"https://u\", \"emittedByUser\": \"user:x@example.com\","
         " \"noop\": {\"data\": \"d\"}}"},
        /* No payload is fine; no identity means no emittedByUser. */
        {__LINE__, "{\"id\": \"b\"}", 0, NULL, NULL,
         "{\"id\": \"b\", \"created\": \"2015-09-14T22:42:00Z\", \"orderInBatch\": \"0\"}"},
        {__LINE__,
         "{\"id\": \"c\", \"buildbucket\": {\"properties\": {\"k\": [1, 2]}, \"tags\": [\"a:b\"]}}",
         1, "", NULL,
         "{\"id\": \"c\", \"created\": \"2015-09-14T22:42:00Z\", \"orderInBatch\": \"1\","
         " \"buildbucket\": {\"properties\": {\"k\": [1, 2]}, \"tags\": [\"a:b\"]}}"},
        /* Engine-only fields in the request are not taken over. */
        {__LINE__, "{\"id\": \"d\", \"jobId\": \"p/j\", \"emittedByUser\": \"user:evil\"}", 0,
         "user:x", NULL,
         "{\"id\": \"d\", \"created\": \"2015-09-14T22:42:00Z\", \"orderInBatch\": \"0\","
         " \"emittedByUser\": \"user:x\"}"},
        {__LINE__, "{\"title\": \"no id\"}", 0, NULL, "trigger id is required", NULL},
        {__LINE__, "{\"id\": \"\"}", 0, NULL, "trigger id is required", NULL},
        {__LINE__, "{\"id\": \"e\", \"cron\": {\"generation\": \"1\"}}", 0, NULL,
         "emitting cron triggers through API is not allowed", NULL},
        {__LINE__, "{\"id\": \"f\", \"webui\": {}}", 0, NULL,
         "emitting web UI triggers through API is not allowed", NULL},
        {__LINE__, "{\"id\": \"g\", \"whatever\": {}}", 0, NULL, "unrecognized trigger payload",
         NULL},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        json_t *pub = load(rows[i].line, rows[i].pub);
        char err[128] = "";
        json_t *got = NULL;
        struct trigger t = {.id = NULL};
        int vrc = trigger_validate_api(pub, err, sizeof(err));
        int rc = trigger_from_public(pub, T0, rows[i].order, rows[i].identity, &t, err,
                                     sizeof(err));
        if (rows[i].err) {
            if (vrc != -EINVAL || rc != -EINVAL || t.id || strcmp(err, rows[i].err) != 0) {
                print_error("line %d: rc %d err '%s'\n", rows[i].line, rc, err);
                fail();
            }
        } else {
            if (vrc != 0 || rc != 0) {
                print_error("line %d: rc %d err '%s'\n", rows[i].line, rc, err);
                fail();
            }
            assert_int_equal(trigger_to_json(&t, &got), 0);
            expect_json(rows[i].line, got, rows[i].want);
            trigger_release(&t);
        }
        json_decref(got);
        json_decref(pub);
    }
}

static void test_public(void **state)
{
    (void)state;
    static const struct {
        int line;
        const char *internal;
        const char *want; /* NULL: -EINVAL */
    } rows[] = {
        {__LINE__,
         "{\"id\": \"noop:1:0\", \"jobId\": \"p/j\", \"invocationId\": \"1\","
         " \"created\": \"2015-09-14T22:42:00Z\", \"orderInBatch\": \"0\","
         " \"emittedByUser\": \"user:a\", \"noop\": {\"data\": \"secret\"}}",
         "{\"id\": \"noop:1:0\", \"noop\": {}}"},
        {__LINE__,
         "{\"id\": \"https://h.googlesource.com/r/+/refs/heads/main@abc\", \"title\": \"abc\","
         " \"url\": \"https://h.googlesource.com/r/+/abc\", \"created\": \"2015-09-14T22:42:00Z\","
         " \"gitiles\": {\"repo\": \"https://h.googlesource.com/r\", \"ref\": \"refs/heads/main\","
         " \"revision\": \"abc\"}}",
         "{\"id\": \"https://h.googlesource.com/r/+/refs/heads/main@abc\", \"title\": \"abc\","
         " \"url\": \"https://h.googlesource.com/r/+/abc\","
         " \"gitiles\": {\"repo\": \"https://h.googlesource.com/r\", \"ref\": \"refs/heads/main\","
         " \"revision\": \"abc\"}}"},
        {__LINE__, "{\"id\": \"cron:v1:3\", \"cron\": {\"generation\": \"3\"}}",
         "{\"id\": \"cron:v1:3\", \"cron\": {\"generation\": \"3\"}}"},
        {__LINE__, "{\"id\": \"x\"}", "{\"id\": \"x\"}"},
        /* An unknown payload is not shown. */
        {__LINE__, "{\"id\": \"y\", \"title\": \"t\", \"future\": {}}",
         "{\"id\": \"y\", \"title\": \"t\"}"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        json_t *o = load(rows[i].line, rows[i].internal);
        json_t *got = NULL;
        struct trigger t;
        assert_int_equal(trigger_from_json(o, &t), 0);
        assert_int_equal(trigger_to_public(&t, &got), 0);
        expect_json(rows[i].line, got, rows[i].want);
        trigger_release(&t);
        json_decref(got);
        json_decref(o);
    }
}

static void expect_trigger_json(int line, const struct trigger *t, const char *want)
{
    json_t *got = NULL;
    if (trigger_to_json(t, &got) < 0) {
        print_error("line %d: trigger_to_json failed\n", line);
        fail();
    }
    expect_json(line, got, want);
    json_decref(got);
}

static void test_new(void **state)
{
    (void)state;
    struct trigger t;
    assert_int_equal(trigger_new_cron(3, T0, &t), 0);
    assert_int_equal(t.kind, TRIGGER_PAYLOAD_CRON);
    assert_true(t.created == T0);
    expect_trigger_json(__LINE__, &t,
                        "{\"id\": \"cron:v1:3\", \"created\": \"2015-09-14T22:42:00Z\","
                        " \"orderInBatch\": \"0\", \"cron\": {\"generation\": \"3\"}}");
    trigger_release(&t);

    assert_int_equal(trigger_new_cron(INT64_MAX, T0 + 1, &t), 0);
    expect_trigger_json(__LINE__, &t,
                        "{\"id\": \"cron:v1:9223372036854775807\","
                        " \"created\": \"2015-09-14T22:42:00.000000001Z\", \"orderInBatch\": \"0\","
                        " \"cron\": {\"generation\": \"9223372036854775807\"}}");
    trigger_release(&t);

    assert_int_equal(
        trigger_new_webui(UINT64_C(0x0123456789abcdef), T0, "user:a@example.com", &t), 0);
    expect_trigger_json(__LINE__, &t,
                        "{\"id\": \"0123456789abcdef\", \"created\": \"2015-09-14T22:42:00Z\","
                        " \"orderInBatch\": \"0\", \"title\": \"Triggered via web UI\","
                        " \"emittedByUser\": \"user:a@example.com\", \"webui\": {}}");
    trigger_release(&t);
}

static void test_order(void **state)
{
    (void)state;
    /* Listed oldest first (isTriggerOlder: created, orderInBatch, id). */
    static const char *const texts[] = {
        "{\"id\": \"0\"}",
        "{\"id\": \"1\", \"created\": \"2015-09-14T22:42:00Z\"}",
        "{\"id\": \"2a\", \"created\": \"2015-09-14T22:42:00Z\", \"orderInBatch\": 1}",
        "{\"id\": \"2b\", \"created\": \"2015-09-14T22:42:00Z\", \"orderInBatch\": \"1\"}",
        "{\"id\": \"3\", \"created\": \"2015-09-14T22:42:00Z\", \"orderInBatch\": \"2\"}",
        "{\"id\": \"4\", \"created\": \"2015-09-14T22:42:01Z\"}",
    };
    struct trigger v[ARRAY_SIZE(texts)];
    for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
        json_t *o = load(__LINE__, texts[i]);
        assert_int_equal(trigger_from_json(o, &v[i]), 0);
        json_decref(o);
    }
    for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
        for (size_t k = 0; k < ARRAY_SIZE(v); k++) {
            int c = trigger_compare(&v[i], &v[k]);
            if ((i < k && c >= 0) || (i == k && c != 0) || (i > k && c <= 0)) {
                print_error("compare(%zu, %zu) = %d\n", i, k, c);
                fail();
            }
        }
    }
    for (size_t i = 0; i < ARRAY_SIZE(v); i++)
        trigger_release(&v[i]);
}

static void test_vec(void **state)
{
    (void)state;
    struct trigger_vec vec = {0};
    json_t *arr = load(__LINE__, "[{\"id\": \"a\"}, {\"id\": \"b\"}, {\"id\": \"c\"}]");
    json_t *bad = load(__LINE__, "[{\"id\": \"a\"}, {\"title\": \"no id\"}]");
    json_t *back = NULL;

    assert_int_equal(trigger_vec_from_json(arr, 2, &vec), -E2BIG);
    trigger_vec_release(&vec);
    assert_int_equal(trigger_vec_from_json(bad, 10, &vec), -EINVAL);
    assert_int_equal(vec.n, 1);
    trigger_vec_release(&vec);
    assert_int_equal(trigger_vec_from_json(arr, 10, &vec), 0);
    assert_int_equal(vec.n, 3);
    assert_int_equal(triggers_to_json(vec.v, vec.n, &back), 0);
    expect_json(__LINE__, back,
                "[{\"id\": \"a\", \"orderInBatch\": \"0\"}, {\"id\": \"b\", \"orderInBatch\": \"0\"},"
                " {\"id\": \"c\", \"orderInBatch\": \"0\"}]");
    json_decref(back);
    trigger_vec_release(&vec);
    assert_int_equal(vec.n, 0);
    json_decref(arr);
    json_decref(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_from_row),
        cmocka_unit_test(test_payload_kind),
        cmocka_unit_test(test_api),
        cmocka_unit_test(test_public),
        cmocka_unit_test(test_new),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_vec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
