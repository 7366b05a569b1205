/*
 * Unit tests for engine/trigger: reading and making trigger JSON
 * (luci-scheduler-spec.md 3.5, 5.3 step 2; shapes in tasks/task.h).
 * Expected objects are written out by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/time.h"
#include "engine/policy.h"
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
        const char *id;
        int created_rc;
        int64_t created;
        int64_t order;
        const char *user;
    } rows[] = {
        {__LINE__, "{}", NULL, 0, TIME_ZERO, 0, ""},
        {__LINE__, "{\"id\": \"\"}", NULL, 0, TIME_ZERO, 0, ""},
        {__LINE__, "{\"id\": 5, \"created\": null}", NULL, 0, TIME_ZERO, 0, ""},
        {__LINE__,
         "{\"id\": \"a\", \"created\": \"2015-09-14T22:42:00Z\", \"orderInBatch\": \"3\","
         " \"emittedByUser\": \"user:a@example.com\"}",
         "a", 0, T0, 3, "user:a@example.com"},
        {__LINE__, "{\"id\": \"b\", \"created\": \"2015-09-14T22:42:00.5Z\", \"orderInBatch\": 7}",
         "b", 0, T0 + 500 * NS_PER_MS, 7, ""},
        {__LINE__, "{\"id\": \"c\", \"orderInBatch\": \"-2\"}", "c", 0, TIME_ZERO, -2, ""},
        {__LINE__, "{\"id\": \"d\", \"orderInBatch\": \"x1\", \"created\": \"yesterday\"}", "d",
         -EINVAL, 0, 0, ""},
        {__LINE__, "{\"id\": \"e\", \"created\": 1442270520}", "e", -EINVAL, 0, 0, ""},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        json_t *t = load(rows[i].line, rows[i].json);
        const char *id = trigger_id(t);
        int64_t created = 42;
        int rc = trigger_parse_created(t, &created);
        bool ok = (id && rows[i].id ? strcmp(id, rows[i].id) == 0 : id == rows[i].id) &&
                  rc == rows[i].created_rc &&
                  created == (rc == 0 ? rows[i].created : 42) &&
                  trigger_order_in_batch(t) == rows[i].order &&
                  strcmp(trigger_emitted_by_user(t), rows[i].user) == 0;
        if (!ok) {
            print_error("line %d: id %s rc %d created %" PRId64 "\n", rows[i].line,
                        id ? id : "NULL", rc, created);
            fail();
        }
        struct policy_trigger pt;
        rc = trigger_to_policy(t, &pt);
        if ((rc == 0) != (rows[i].id && rows[i].created_rc == 0) ||
            (rc == 0 && (pt.created_ns != rows[i].created || pt.order_in_batch != rows[i].order ||
                         strcmp(pt.id, rows[i].id) != 0))) {
            print_error("line %d: trigger_to_policy %d\n", rows[i].line, rc);
            fail();
        }
        json_decref(t);
    }
    assert_null(trigger_id(NULL));
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
        int vrc = trigger_validate_api(pub, err, sizeof(err));
        int rc = trigger_from_api(pub, T0, rows[i].order, rows[i].identity, &got, err,
                                  sizeof(err));
        if (rows[i].err) {
            if (vrc != -EINVAL || rc != -EINVAL || got || strcmp(err, rows[i].err) != 0) {
                print_error("line %d: rc %d err '%s'\n", rows[i].line, rc, err);
                fail();
            }
        } else {
            if (vrc != 0 || rc != 0) {
                print_error("line %d: rc %d err '%s'\n", rows[i].line, rc, err);
                fail();
            }
            expect_json(rows[i].line, got, rows[i].want);
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
        {__LINE__, "{\"title\": \"no id\"}", NULL},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        json_t *t = load(rows[i].line, rows[i].internal);
        json_t *got = NULL;
        int rc = trigger_to_public(t, &got);
        if (!rows[i].want) {
            assert_int_equal(rc, -EINVAL);
            assert_null(got);
        } else {
            assert_int_equal(rc, 0);
            expect_json(rows[i].line, got, rows[i].want);
        }
        json_decref(got);
        json_decref(t);
    }
}

static void test_new(void **state)
{
    (void)state;
    json_t *t = NULL;
    assert_int_equal(trigger_new_cron(3, T0, &t), 0);
    expect_json(__LINE__, t,
                "{\"id\": \"cron:v1:3\", \"created\": \"2015-09-14T22:42:00Z\","
                " \"orderInBatch\": \"0\", \"cron\": {\"generation\": \"3\"}}");
    json_decref(t);

    assert_int_equal(trigger_new_cron(INT64_MAX, T0 + 1, &t), 0);
    expect_json(__LINE__, t,
                "{\"id\": \"cron:v1:9223372036854775807\","
                " \"created\": \"2015-09-14T22:42:00.000000001Z\", \"orderInBatch\": \"0\","
                " \"cron\": {\"generation\": \"9223372036854775807\"}}");
    json_decref(t);

    assert_int_equal(trigger_new_webui(UINT64_C(0x0123456789abcdef), T0, "user:a@example.com", &t),
                     0);
    expect_json(__LINE__, t,
                "{\"id\": \"0123456789abcdef\", \"created\": \"2015-09-14T22:42:00Z\","
                " \"orderInBatch\": \"0\", \"title\": \"Triggered via web UI\","
                " \"emittedByUser\": \"user:a@example.com\", \"webui\": {}}");
    json_decref(t);
}

static void test_order(void **state)
{
    (void)state;
    /* Listed in a scrambled order; the names give the expected position. */
    static const char *const texts[] = {
        "{\"id\": \"4\", \"created\": \"2015-09-14T22:42:01Z\"}",
        "{\"id\": \"2b\", \"created\": \"2015-09-14T22:42:00Z\", \"orderInBatch\": \"1\"}",
        "{\"id\": \"0\"}",
        "{\"id\": \"3\", \"created\": \"2015-09-14T22:42:00Z\", \"orderInBatch\": \"2\"}",
        "{\"id\": \"1\", \"created\": \"2015-09-14T22:42:00Z\"}",
        "{\"id\": \"2a\", \"created\": \"2015-09-14T22:42:00Z\", \"orderInBatch\": 1}",
    };
    static const char *const want[] = {"0", "1", "2a", "2b", "3", "4"};
    json_t *v[ARRAY_SIZE(texts)];
    for (size_t i = 0; i < ARRAY_SIZE(texts); i++)
        v[i] = load(__LINE__, texts[i]);

    assert_true(trigger_compare(v[4], v[0]) < 0);
    assert_true(trigger_compare(v[0], v[4]) > 0);
    assert_true(trigger_compare(v[5], v[1]) < 0);
    assert_int_equal(trigger_compare(v[1], v[1]), 0);

    assert_int_equal(trigger_sort(v, ARRAY_SIZE(v)), 0);
    for (size_t i = 0; i < ARRAY_SIZE(v); i++)
        assert_string_equal(trigger_id(v[i]), want[i]);

    /* Equal triggers keep their order. */
    json_t *a = load(__LINE__, "{\"id\": \"same\", \"title\": \"first\"}");
    json_t *b = load(__LINE__, "{\"id\": \"same\", \"title\": \"second\"}");
    json_t *pair[] = {a, b};
    assert_int_equal(trigger_sort(pair, 2), 0);
    assert_ptr_equal(pair[0], a);
    assert_ptr_equal(pair[1], b);
    json_decref(a);
    json_decref(b);

    for (size_t i = 0; i < ARRAY_SIZE(v); i++)
        json_decref(v[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_payload_kind),
        cmocka_unit_test(test_api),
        cmocka_unit_test(test_public),
        cmocka_unit_test(test_new),
        cmocka_unit_test(test_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
