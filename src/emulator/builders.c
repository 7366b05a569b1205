/*
 * builders.c - the builders file (docs/emulator.md): a JSON object
 * {"builders": [{...}, ...]} (or just the array).  Pure.
 */
#include "base/compat.h"
#include "base/time.h"
#include "emu-internal.h"

static const char *const builder_keys[] = {
    "project", "bucket", "builder", "legacy_bucket", "queue", "run", "timeout",
    "cancel_delay", "command", "outcome", "schedule_fail", "schedule_errors",
    "get_errors", "build_numbers", "service_account", "schedule_delay", NULL,
};

static int copy_str(const json_t *o, const char *key, char *out, size_t outlen, bool required,
                    char *err, size_t errlen)
{
    const json_t *v = json_object_get(o, key);

    if (!v) {
        if (!required)
            return 0;
        snprintf(err, errlen, "\"%s\" is required", key);
        return -EINVAL;
    }
    if (!json_is_string(v) || json_string_length(v) >= outlen) {
        snprintf(err, errlen, "\"%s\" must be a string shorter than %zu bytes", key, outlen);
        return -EINVAL;
    }
    snprintf(out, outlen, "%s", json_string_value(v));
    return 0;
}

static int get_duration(const json_t *o, const char *key, int64_t *ret, char *err,
                        size_t errlen)
{
    const json_t *v = json_object_get(o, key);
    char msg[128];

    if (!v)
        return 0;
    if (!json_is_string(v) || time_parse_duration(json_string_value(v), ret, msg,
                                                  sizeof(msg)) < 0 || *ret < 0) {
        snprintf(err, errlen, "\"%s\" must be a Go duration such as \"300ms\" or \"1m30s\"",
                 key);
        return -EINVAL;
    }
    return 0;
}

static int get_code(const json_t *v, const char *key, int *ret, char *err, size_t errlen)
{
    int code = json_is_string(v) ? grpc_code_from_name(json_string_value(v)) : -EINVAL;

    if (code <= 0) {
        snprintf(err, errlen, "\"%s\" wants gRPC code names such as \"UNAVAILABLE\"", key);
        return -EINVAL;
    }
    *ret = code;
    return 0;
}

static int get_codes(const json_t *o, const char *key, int *v, size_t *n, char *err,
                     size_t errlen)
{
    const json_t *a = json_object_get(o, key), *x;
    size_t i;

    if (!a)
        return 0;
    if (!json_is_array(a) || json_array_size(a) > EMU_MAX_SCRIPTED) {
        snprintf(err, errlen, "\"%s\" must be a list of at most %d code names", key,
                 EMU_MAX_SCRIPTED);
        return -EINVAL;
    }
    json_array_foreach(a, i, x) {
        if (get_code(x, key, &v[i], err, errlen) < 0)
            return -EINVAL;
    }
    *n = json_array_size(a);
    return 0;
}

static int check_keys(const json_t *o, char *err, size_t errlen)
{
    const char *key;
    const json_t *v;

    json_object_foreach((json_t *)o, key, v) {
        bool known = false;
        for (size_t i = 0; builder_keys[i] && !known; i++)
            known = strcmp(builder_keys[i], key) == 0;
        if (!known) {
            snprintf(err, errlen, "unknown field \"%s\"", key);
            return -EINVAL;
        }
    }
    return 0;
}

static int parse_names(const json_t *o, struct emu_builder *b, char *err, size_t errlen)
{
    if (copy_str(o, "project", b->project, sizeof(b->project), true, err, errlen) < 0 ||
        copy_str(o, "bucket", b->bucket, sizeof(b->bucket), true, err, errlen) < 0 ||
        copy_str(o, "builder", b->builder, sizeof(b->builder), true, err, errlen) < 0 ||
        copy_str(o, "legacy_bucket", b->legacy_bucket, sizeof(b->legacy_bucket), false, err,
                 errlen) < 0 ||
        copy_str(o, "service_account", b->service_account, sizeof(b->service_account), false,
                 err, errlen) < 0)
        return -EINVAL;
    if (!emu_project_name_ok(b->project) || !emu_bucket_name_ok(b->bucket) ||
        (strcmp(b->builder, "*") != 0 && !emu_builder_name_ok(b->builder))) {
        snprintf(err, errlen, "project, bucket or builder does not match Buildbucket's rules");
        return -EINVAL;
    }
    if (!b->legacy_bucket[0])
        snprintf(b->legacy_bucket, sizeof(b->legacy_bucket), "luci.%s.%s", b->project,
                 b->bucket);
    return 0;
}

static int parse_one(const json_t *o, struct emu_builder *b, char *err, size_t errlen)
{
    const json_t *v;

    if (!json_is_object(o)) {
        snprintf(err, errlen, "a builder must be an object");
        return -EINVAL;
    }
    b->outcome = EMU_SUCCESS;
    b->timeout_ns = EMU_DEFAULT_COMMAND_TIMEOUT_NS;
    b->next_number = 1;
    if (check_keys(o, err, errlen) < 0 || parse_names(o, b, err, errlen) < 0 ||
        get_duration(o, "queue", &b->queue_ns, err, errlen) < 0 ||
        get_duration(o, "run", &b->run_ns, err, errlen) < 0 ||
        get_duration(o, "timeout", &b->timeout_ns, err, errlen) < 0 ||
        get_duration(o, "cancel_delay", &b->cancel_delay_ns, err, errlen) < 0 ||
        get_duration(o, "schedule_delay", &b->schedule_delay_ns, err, errlen) < 0 ||
        get_codes(o, "schedule_errors", b->schedule_errors, &b->n_schedule_errors, err,
                  errlen) < 0 ||
        get_codes(o, "get_errors", b->get_errors, &b->n_get_errors, err, errlen) < 0)
        return -EINVAL;
    if ((v = json_object_get(o, "schedule_fail")) &&
        get_code(v, "schedule_fail", &b->schedule_fail, err, errlen) < 0)
        return -EINVAL;
    if ((v = json_object_get(o, "outcome"))) {
        b->outcome = json_is_string(v) ? emu_status_parse(json_string_value(v)) : -EINVAL;
        if (b->outcome < 0) {
            snprintf(err, errlen, "\"outcome\" must be a status name such as \"SUCCESS\"");
            return -EINVAL;
        }
    }
    if ((v = json_object_get(o, "build_numbers")))
        b->build_numbers = json_is_true(v);
    if ((v = json_object_get(o, "command"))) {
        if (!json_is_string(v) || json_string_length(v) == 0 ||
            json_string_length(v) > EMU_MAX_COMMAND_BYTES) {
            snprintf(err, errlen, "\"command\" must be a non-empty string");
            return -EINVAL;
        }
        b->command = strdup(json_string_value(v));
        if (!b->command)
            return -ENOMEM;
    }
    return 0;
}

int emu_builders_parse(const char *text, size_t len, struct emu_builders **ret, char *err,
                       size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    const json_t *list, *x;
    struct emu_builders *bs = NULL;
    size_t i;
    int r = -EINVAL;

    if (!root) {
        snprintf(err, errlen, "line %d: %s", jerr.line, jerr.text);
        return -EINVAL;
    }
    list = json_is_array(root) ? root : json_object_get(root, "builders");
    if (!json_is_array(list) || json_array_size(list) == 0 ||
        json_array_size(list) > EMU_MAX_BUILDERS) {
        snprintf(err, errlen, "want {\"builders\": [...]} with 1 to %d builders",
                 EMU_MAX_BUILDERS);
        goto out;
    }
    bs = calloc(1, sizeof(*bs));
    if (!bs || !(bs->v = calloc(json_array_size(list), sizeof(*bs->v)))) {
        r = -ENOMEM;
        goto out;
    }
    json_array_foreach(list, i, x) {
        char e2[256] = "";
        bs->n = i + 1;
        r = parse_one(x, &bs->v[i], e2, sizeof(e2));
        if (r < 0) {
            snprintf(err, errlen, "builder %zu: %s", i + 1, e2[0] ? e2 : strerror(-r));
            goto out;
        }
    }
    *ret = bs;
    bs = NULL;
    r = 0;
out:
    emu_builders_free(bs);
    json_decref(root);
    return r;
}

struct emu_builders *emu_builders_free(struct emu_builders *b)
{
    if (!b)
        return NULL;
    for (size_t i = 0; i < b->n; i++)
        free(b->v[i].command);
    free(b->v);
    free(b);
    return NULL;
}
