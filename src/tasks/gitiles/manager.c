/*
 * manager.c - the gitiles task manager: one poll of a repository (spec
 * 4.2.4) in launch().  See gitiles.h for the contract; the pure parts are
 * in gt-internal.h, the REST calls in gt-rest.h.
 */
#include "tasks/gitiles/gitiles.h"

#include "base/time.h"
#include "config/config.h"
#include "config/gourl.h"
#include "net/prpc.h"
#include "tasks/gitiles/gt-poll.h"
#include "tasks/gitiles/gt-rest.h"
#include "tasks/taskjson.h"

#define GT_CALL_TIMEOUT_NS (60 * NS_PER_SEC)

struct gt_manager {
    struct task_manager m; /* first; m.ctx points back here */
    struct client *client; /* borrowed */
    bool anonymous;
    int64_t timeout_ns;
};

/* The gitiles source: Gitiles REST (gt-rest.h). */
static int rest_refs(void *src, const char *prefix, struct gt_refs *out, struct client_error *e)
{
    return gt_fetch_refs(src, prefix, out, e);
}

static int rest_log(void *src, const char *committish, size_t limit, bool tree_diff,
                    struct gt_commits *out, struct client_error *e)
{
    return gt_fetch_log(src, committish, limit, tree_diff, out, e);
}

static const struct gt_source_ops rest_ops = {
    .fetch_refs = rest_refs,
    .fetch_log = rest_log,
};

/* The repo URL: LUCI's rules, any host mapped with --host-map too. */
static int check_repo(struct gt_poll *p, void *arg)
{
    const struct gt_manager *gm = arg;
    char why[512];

    if (gourl_gitiles_repo(p->repo_url, true, p->repo.host, sizeof(p->repo.host),
                           p->repo.project, sizeof(p->repo.project), why, sizeof(why)) < 0) {
    } else if (!gt_host_is_googlesource(p->repo.host) &&
               !client_host_is_mapped(gm->client, p->repo.host)) {
        snprintf(why, sizeof(why), "only .googlesource.com repos are supported");
    } else {
        return 0;
    }
    snprintf(p->c->err, sizeof(p->c->err), "invalid repo URL \"%.300s\": %.180s", p->repo_url,
             why);
    return TASK_ERR_FATAL;
}

static int gt_launch(const struct task_manager *m, struct task_ctl *c)
{
    const struct gt_manager *gm = m->ctx;
    struct gt_remote rm = {0};
    struct gt_poll p = {.c = c, .ops = &rest_ops, .src = &rm, .source_name = "gitiles"};
    int r;

    r = gt_poll_config(&p, taskjson_body(c->task, "gitiles", NULL), "repo", check_repo,
                       (void *)gm);
    if (r == 0) {
        rm = (struct gt_remote){
            .client = gm->client,
            .opts = {.timeout_ns = gm->timeout_ns, .authenticated = !gm->anonymous},
            .host = p.repo.host,
            .project = p.repo.project,
        };
        r = gt_poll_run(&p);
    }
    gt_poll_release(&p);
    return r;
}

int gitiles_manager_new(const struct gitiles_options *o, struct task_manager **ret)
{
    struct gt_manager *gm;

    if (!o || !o->client || !ret)
        return -EINVAL;
    gm = calloc(1, sizeof(*gm));
    if (!gm)
        return -ENOMEM;
    gm->client = o->client;
    gm->anonymous = o->anonymous;
    gm->timeout_ns = o->timeout_ns > 0 ? o->timeout_ns : GT_CALL_TIMEOUT_NS;
    gm->m = (struct task_manager){
        .name = "gitiles",
        .multistage = false,
        .ctx = gm,
        .launch = gt_launch,
    };
    *ret = &gm->m;
    return 0;
}

struct task_manager *gitiles_manager_free(struct task_manager *m)
{
    if (m)
        free(m->ctx);
    return NULL;
}
