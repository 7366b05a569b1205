/*
 * auth.h - identities, bearer tokens, groups, realms and permissions
 * (luci-scheduler-spec.md section 6, plus tock's acl_sets fallback).
 *
 * Identities are "<kind>:<name>" with kind one of anonymous, user, project,
 * service, bot (LUCI's kinds): "user:alice@example.com",
 * "anonymous:anonymous", "project:chromium".  A principal in a group or a
 * binding is an identity or "group:<name>".
 *
 * One struct auth holds everything a check needs:
 *   - tokens (auth_load_tokens), from `--auth-tokens FILE`, one per line:
 *         <token> <identity>
 *         sha256:<64 hex digits> <identity>
 *     Blank lines and lines starting with "#" are skipped.  A presented
 *     token is hashed once and compared with every entry's SHA-256 in
 *     constant time (plain tokens are stored hashed too).
 *   - groups (auth_load_groups), from `--groups FILE`, one per line:
 *         <name>: <member>, <member>, group:<other>, ...
 *     A member is an identity, a bare email (= user:<email>), or
 *     group:<name> (nested; cycles are harmless, chains are followed at
 *     most LIMIT_AUTH_GROUP_DEPTH deep).  A group may be named on several
 *     lines (members add up).  Members of "administrators" may do anything.
 *   - per-project policies (auth_set_project): the project's realms.cfg
 *     (LUCI realms text format) if it has one, otherwise the deprecated
 *     acl_sets/acls of its luci-scheduler.cfg (see auth_set_project).
 *
 * Roles -> permissions:
 *   role/scheduler.reader     get
 *   role/scheduler.triggerer  get, trigger
 *   role/scheduler.owner      get, trigger, pause, resume, abort
 * plus custom roles of realms.cfg ("customRole/<x>", with permissions and
 * extends).  Other roles grant no scheduler permission.
 *
 * Thread safety: every function may be called from any thread; checks run
 * concurrently under a read lock, the loaders swap whole tables under the
 * write lock (a failed load leaves the old table in place).  The library
 * does not log.
 */
#ifndef TOCK_AUTH_AUTH_H
#define TOCK_AUTH_AUTH_H

#include "base/compat.h"
#include "base/limits.h"
#include "config/config.h"

#define AUTH_ANONYMOUS "anonymous:anonymous"
#define AUTH_ADMIN_GROUP "administrators"

enum auth_perm {
    AUTH_PERM_GET,     /* scheduler.jobs.get */
    AUTH_PERM_TRIGGER, /* scheduler.jobs.trigger */
    AUTH_PERM_PAUSE,   /* scheduler.jobs.pause */
    AUTH_PERM_RESUME,  /* scheduler.jobs.resume */
    AUTH_PERM_ABORT,   /* scheduler.jobs.abort */
    _AUTH_PERM_MAX,
};

/* "scheduler.jobs.get", ...; NULL for an unknown value. */
const char *auth_perm_name(enum auth_perm p);

/* The permission named name, or -EINVAL. */
int auth_perm_from_name(const char *name);

/*
 * Checks an identity's syntax: a known kind, a non-empty name, no white
 * space or control characters, at most LIMIT_IDENTITY_LEN bytes; "user:"
 * names must contain "@"; "anonymous:" must be "anonymous:anonymous".
 * Returns 0 or -EINVAL.
 */
int auth_identity_check(const char *identity);

/*
 * Normalises a principal as written in a groups file or an ACL: an
 * identity or "group:<name>" is copied, a bare email gets "user:".
 * Returns 0, or -EINVAL (bad syntax) / -E2BIG (longer than outlen - 1).
 */
int auth_principal_normalize(const char *in, char *out, size_t outlen);

struct auth;

/* A new policy set with no tokens, no groups, no projects.  NULL = out of memory. */
struct auth *auth_new(void);

/* NULL-safe.  Returns NULL. */
struct auth *auth_free(struct auth *a);

/*
 * Replaces the token table with the file content text[0..len).  On a bad
 * line returns -EINVAL and writes "line N: <reason>" to reterr_msg;
 * -E2BIG past LIMIT_AUTH_TOKENS lines or LIMIT_AUTH_FILE_BYTES; -ENOMEM.
 */
int auth_load_tokens(struct auth *a, const char *text, size_t len, char *reterr_msg,
                     size_t errlen);

/* Replaces the groups, like auth_load_tokens (LIMIT_AUTH_GROUPS, LIMIT_AUTH_MEMBERS). */
int auth_load_groups(struct auth *a, const char *text, size_t len, char *reterr_msg,
                     size_t errlen);

/*
 * The identity behind an Authorization header value (NULL = no header).
 *   NULL or ""                 -> "anonymous:anonymous"
 *   "Bearer <known token>"     -> the token's identity
 *   "Bearer <unknown token>"   -> -EACCES   (answer UNAUTHENTICATED)
 *   a control byte (< 0x20, 0x7f) anywhere, or anything else
 *                              -> -EINVAL   (answer UNAUTHENTICATED too)
 * The scheme name is case-insensitive.  Writes the identity to ret (at most
 * outlen bytes with the NUL; -E2BIG if it does not fit).  Returns 0 or the
 * negative errno above.
 */
int auth_authenticate(const struct auth *a, const char *authorization, char *ret,
                      size_t outlen);

/*
 * Whether identity is a member of group (directly or through nested
 * groups).  Unknown groups have no members.
 */
bool auth_is_member(const struct auth *a, const char *identity, const char *group);

/* auth_is_member(a, identity, AUTH_ADMIN_GROUP). */
bool auth_is_admin(const struct auth *a, const char *identity);

/*
 * Sets (or replaces) the policy of one project; call it whenever the
 * project's configs are (re)read.
 *
 * realms_cfg (text[0..realms_len), may be NULL): the project's realms.cfg,
 * protobuf text format of LUCI's RealmsCfg:
 *     realms {                      ("realm" is accepted too)
 *       name: "ci"
 *       extends: "other"            (bindings of other realms join in)
 *       bindings {
 *         role: "role/scheduler.reader"
 *         principals: "group:all"   principals: "user:a@example.com"
 *         conditions { restrict { attribute: "scheduler.job.name" values: "x" } }
 *       }
 *     }
 *     custom_roles { name: "customRole/x" extends: "role/..." permissions: "scheduler.jobs.get" }
 * A binding with conditions applies only when every condition holds
 * (the attribute's value is one of values; scheduler.job.name is the only
 * attribute tock supplies).  "@root" bindings apply to every realm; a realm
 * that does not exist falls back to "@root".
 *
 * Without realms_cfg, the deprecated ACLs of cfg (may be NULL) are used:
 * each job's acls plus the acls of the acl_sets it names; READER grants
 * role/scheduler.reader, TRIGGERER role/scheduler.triggerer, OWNER
 * role/scheduler.owner; granted_to is "group:x", an identity or a bare email.
 * A job with no ACL is visible to administrators only, and so is every job
 * of a project with neither.  cfg is read during the call only.
 *
 * Returns 0, or -EINVAL with "realms.cfg:LINE:COL: <reason>" (or the ACL
 * problem) in reterr_msg, -E2BIG, -ENOMEM; on failure the old policy stays.
 */
int auth_set_project(struct auth *a, const char *project, const struct cfg_project *cfg,
                     const char *realms_cfg, size_t realms_len, char *reterr_msg,
                     size_t errlen);

/* Forgets a project (its jobs are then visible to administrators only). */
void auth_remove_project(struct auth *a, const char *project);

/*
 * Whether identity holds perm on job job_name (the name without the
 * project) of project, whose realm is realm_id ("project:realm"; "" or
 * NULL means "<project>:@legacy").  Administrators always pass.  Unknown
 * projects deny everyone else.
 */
bool auth_check(const struct auth *a, const char *identity, const char *project,
                const char *realm_id, const char *job_name, enum auth_perm perm);

/* What a caller may see of one realm, before looking at its jobs. */
enum auth_view {
    AUTH_VIEW_NONE, /* auth_check fails for every job of the realm */
    AUTH_VIEW_SOME, /* it depends on the job: call auth_check for each */
    AUTH_VIEW_ALL,  /* auth_check passes for every job of the realm */
};

/*
 * identity's perm over the jobs of realm realm_id ("project:realm"; "" or
 * NULL = "<project>:@legacy") of project, decided without a job: ALL for
 * administrators and for an unconditional binding of the realm, of a realm
 * it extends or of "@root"; SOME when only bindings with conditions on
 * scheduler.job.name grant it, and for every project on the acl_sets
 * fallback whose ACLs grant it to identity somewhere (ACLs are per job);
 * NONE otherwise (unknown projects included).  Never NONE where auth_check
 * could pass for a job of the realm, never ALL where it could fail.  Costs
 * one walk of the realm's bindings (of the project's ACLs on the
 * fallback), not one per job.
 */
enum auth_view auth_realm_view(const struct auth *a, const char *identity, const char *project,
                               const char *realm_id, enum auth_perm perm);

#endif
