/*
 * test-emulator-pure.c - the emulator's pure parts against wire-formats.md:
 * build IDs (§2.10, the example ID and the seed pages' IDs), the binary
 * large-fields Build of §2.12 (the spec's 14 example bytes), names, and
 * the builders file.
 */
#include "base/compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "base/time.h"
#include "emulator/emulator.h"

static int64_t at(const char *rfc3339)
{
    int64_t ns = 0;
    assert_int_equal(time_parse_rfc3339(rfc3339, &ns), 0);
    return ns;
}

/* §2.10: "Example for 2024-05-01T12:00Z: 8749142216233001793"; the seeds' builds. */
static void test_build_id_examples(void **state)
{
    (void)state;
    static const struct {
        int64_t id;
        const char *time;
    } cases[] = {
        {INT64_C(8749142216233001793), "2024-05-01T12:00:00Z"},
        {INT64_C(8701530828601276817), "2025-10-09T00:42:37.553Z"}, /* 2025 seed, createTime */
        {INT64_C(8854922957825743408), "2021-02-18T21:40:23.573Z"}, /* 2021 seed, created_ts */
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int64_t t = at(cases[i].time);
        assert_int_equal(emu_build_id_time(cases[i].id), t);
        /* Same 43 time bits as the real ID; 16 random bits and version 1 after them. */
        int64_t mine = emu_build_id(t, 0x1234);
        assert_int_equal(mine >> 20, cases[i].id >> 20);
        assert_int_equal(mine & 0xf, 1);
        assert_int_equal((mine >> 4) & 0xffff, 0x1234);
    }
}

static void test_build_ids_decrease(void **state)
{
    (void)state;
    int64_t a = emu_build_id(at("2026-01-01T00:00:00Z"), 0xffff);
    int64_t b = emu_build_id(at("2026-01-01T00:00:00.001Z"), 0);
    assert_true(b < a);
    assert_true(a > 0 && b > 0);
    assert_true(a > (INT64_C(1) << 53));
}

/* §2.12: {"a": "b"} as input.properties is the 14 bytes 7a0c0a0a0a080a016112031a0162. */
static void test_large_fields_example(void **state)
{
    (void)state;
    static const unsigned char want[] = {0x7a, 0x0c, 0x0a, 0x0a, 0x0a, 0x08, 0x0a,
                                         0x01, 0x61, 0x12, 0x03, 0x1a, 0x01, 0x62};
    json_t *props = json_pack("{s:s}", "a", "b");
    struct buf out;
    buf_init(&out, 1 << 20);
    assert_int_equal(emu_pb_large_fields(props, NULL, &out), 0);
    assert_int_equal(out.len, sizeof(want));
    assert_memory_equal(out.data, want, sizeof(want));
    buf_release(&out);
    json_decref(props);
}

static void test_large_fields_types(void **state)
{
    (void)state;
    json_t *props = json_loads("{\"n\": 1.5, \"t\": true, \"z\": null, \"l\": [\"x\"]}", 0, NULL);
    struct buf out;
    buf_init(&out, 1 << 20);
    assert_int_equal(emu_pb_large_fields(props, props, &out), 0);
    /* input (field 15) then output (field 16 = tag 0x82 0x01). */
    assert_int_equal((unsigned char)out.data[0], 0x7a);
    size_t half = out.len / 2;
    assert_int_equal((unsigned char)out.data[half], 0x82);
    assert_int_equal((unsigned char)out.data[half + 1], 0x01);
    buf_release(&out);
    buf_init(&out, 1 << 20);
    json_t *notobj = json_string("x");
    assert_int_equal(emu_pb_large_fields(notobj, NULL, &out), -EINVAL);
    json_decref(notobj);
    buf_release(&out);
    json_decref(props);
}

/* §2.1 numbers. */
static void test_status_names(void **state)
{
    (void)state;
    assert_int_equal(emu_status_parse("SUCCESS"), 12);
    assert_int_equal(emu_status_parse("FAILURE"), 20);
    assert_int_equal(emu_status_parse("INFRA_FAILURE"), 36);
    assert_int_equal(emu_status_parse("CANCELED"), 68);
    assert_int_equal(emu_status_parse("ENDED_MASK"), 4);
    assert_int_equal(emu_status_parse("36"), 36);
    assert_int_equal(emu_status_parse("13"), -EINVAL);
    assert_string_equal(emu_status_name(2), "STARTED");
    assert_int_equal(emu_hostile_parse("wrong-types"), EMU_HOSTILE_WRONG_TYPES);
    assert_int_equal(emu_hostile_parse("nope"), -EINVAL);
}

static void test_builders_file(void **state)
{
    (void)state;
    static const char ok[] =
        "{\"builders\": [{\"project\": \"pigweed\", \"bucket\": \"pigweed.dev.ci\", "
        "\"builder\": \"pigweed-linux-zephyr\", \"queue\": \"300ms\", \"run\": \"1m\", "
        "\"outcome\": \"INFRA_FAILURE\", \"schedule_errors\": [\"UNAVAILABLE\", \"INTERNAL\"], "
        "\"schedule_delay\": \"3s\"}]}";
    struct emu_builders *b = NULL;
    char err[256];
    assert_int_equal(emu_builders_parse(ok, strlen(ok), &b, err, sizeof(err)), 0);
    assert_int_equal(b->n, 1);
    assert_string_equal(b->v[0].legacy_bucket, "luci.pigweed.pigweed.dev.ci");
    assert_int_equal(b->v[0].queue_ns, 300 * NS_PER_MS);
    assert_int_equal(b->v[0].run_ns, NS_PER_MIN);
    assert_int_equal(b->v[0].outcome, 36);
    assert_int_equal(b->v[0].n_schedule_errors, 2);
    assert_int_equal(b->v[0].schedule_errors[1], 13);
    assert_int_equal(b->v[0].schedule_delay_ns, 3 * NS_PER_SEC);
    emu_builders_free(b);

    static const char *const bad[] = {
        "{\"builders\": []}",
        "{\"builders\": [{\"project\": \"p\", \"bucket\": \"b\"}]}",
        "{\"builders\": [{\"project\": \"P!\", \"bucket\": \"b\", \"builder\": \"x\"}]}",
        "{\"builders\": [{\"project\": \"p\", \"bucket\": \"b\", \"builder\": \"x\", \"queue\": \"1 min\"}]}",
        "{\"builders\": [{\"project\": \"p\", \"bucket\": \"b\", \"builder\": \"x\", \"outcome\": \"DONE\"}]}",
        "{\"builders\": [{\"project\": \"p\", \"bucket\": \"b\", \"builder\": \"x\", \"typo\": 1}]}",
        "{\"builders\": [{\"project\": \"p\", \"bucket\": \"b\", \"builder\": \"x\", \"schedule_fail\": \"NOPE\"}]}",
        "{\"builders\": [{\"project\": \"p\", \"bucket\": \"b\", \"builder\": \"x\", \"schedule_delay\": \"-1s\"}]}",
        "not json",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        b = NULL;
        err[0] = '\0';
        assert_int_equal(emu_builders_parse(bad[i], strlen(bad[i]), &b, err, sizeof(err)), -EINVAL);
        assert_null(b);
        assert_true(err[0] != '\0');
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_id_examples),  cmocka_unit_test(test_build_ids_decrease),
        cmocka_unit_test(test_large_fields_example), cmocka_unit_test(test_large_fields_types),
        cmocka_unit_test(test_status_names),       cmocka_unit_test(test_builders_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
