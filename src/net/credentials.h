/*
 * credentials.h - the bearer-token sources behind net/client.h.
 *
 * One struct credentials holds the one source a client uses, chosen in
 * this order of preference when several are configured:
 *
 * - A Google service-account JSON key ("type": "service_account",
 *   "client_email", "private_key" (PEM, RSA), "private_key_id",
 *   "token_uri").  A token is got by an RS256-signed JWT (RFC 7523):
 *   header {"alg":"RS256","typ":"JWT","kid":<private_key_id>}, claims
 *   {"iss":<client_email>,"scope":<scopes>,"aud":<token_uri>,"iat":now,
 *   "exp":now+3600}, POSTed to token_uri as
 *   "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=<jwt>"
 *   (application/x-www-form-urlencoded); the answer {"access_token",
 *   "expires_in", "token_type"} is cached until
 *   CLIENT_TOKEN_EXPIRY_MARGIN_NS before it expires.  token_uri goes
 *   through the client's host map (its host:port is looked up).
 * - A token file: its first line, white space trimmed; re-read when its
 *   mtime or size changes.
 * - A token command: run with /bin/sh -c (stdin /dev/null, its own process
 *   group, killed after CLIENT_TOKEN_COMMAND_TIMEOUT_NS), its first stdout
 *   line (at most CLIENT_MAX_TOKEN_BYTES of output), cached for
 *   CLIENT_TOKEN_COMMAND_TTL_NS.
 *
 * A token is one word of printable ASCII of at most CLIENT_MAX_TOKEN_BYTES
 * bytes.  Tokens (and key material) never appear in error messages; memory
 * that held them is wiped before it is freed.
 *
 * Threads: credentials_header may be called from any thread; one mutex
 * serialises refreshes (a thread needing a token while another refreshes
 * waits for it, at most that refresh's deadline).
 */
#ifndef TOCK_NET_CREDENTIALS_H
#define TOCK_NET_CREDENTIALS_H

#include "base/compat.h"
#include "net/client.h"

struct credentials;

/*
 * Makes the credentials of o (service_account_json, token_file,
 * token_command, oauth_scopes and clock are used).  Reads and checks the
 * key or the token file now.  Returns 0 with *ret (NULL when o names no
 * source), or -EINVAL/-ENOENT/-ENOMEM/-errno with *reterr filled
 * (transport, UNAUTHENTICATED or INVALID_ARGUMENT).
 */
int credentials_new(const struct client_options *o, struct credentials **ret,
                    struct client_error *reterr);

/* NULL-safe; returns NULL. */
struct credentials *credentials_free(struct credentials *cr);

/*
 * A new "Authorization: Bearer <token>" header line in *ret (free it with
 * credentials_wipe_free).  May refresh the token through c (the token
 * endpoint call gets timeout_ns).  Returns 0, or a negative errno with
 * *reterr filled: the transport error of the token call as it is
 * (UNAVAILABLE, DEADLINE_EXCEEDED...), UNAUTHENTICATED when the endpoint,
 * the file or the command refused or gave no usable token.
 */
int credentials_header(struct credentials *cr, struct client *c, int64_t timeout_ns,
                       char **ret, struct client_error *reterr);

/* Wipes and frees a string that held a secret.  NULL-safe. */
void credentials_wipe_free(char *s);

/*
 * The pure part of the service-account flow: the signed JWT for the claims
 * given (kid may be NULL: no "kid" header).  pem is a PEM private key (RSA).
 * Returns 0 and *ret (caller frees), -EINVAL for a key that is not an RSA
 * private key, -ENOMEM.
 */
int credentials_jwt(const char *pem, const char *kid, const char *iss, const char *scope,
                    const char *aud, int64_t iat_sec, char **ret);

/*
 * The base64url encoding without padding of in[0..n) appended to out
 * (NUL-terminated, outlen bytes).  Returns 0 or -ENAMETOOLONG.
 */
int credentials_base64url(const unsigned char *in, size_t n, char *out, size_t outlen);

/*
 * Between client.c and credentials.c: the host map's base URL for
 * authority ("host" or "host:port"), or NULL when it is not mapped.
 */
const char *client_host_map_lookup(const struct client *c, const char *authority);

#endif
