/* http_listen.h — listening sockets for vtap's HTTP APIs: TCP on an
 * explicit IPv4/IPv6 address (port 0 = ephemeral, reported back) and UNIX
 * stream sockets with a chosen mode and group, where a stale socket file
 * left by a crashed daemon is replaced but a live one, or anything that is
 * not a socket, is never touched.
 *
 * Listen specs, as written in config files and tests:
 *	127.0.0.1:8080   [::1]:8080   localhost:0   0.0.0.0:8080   [::]:8080
 *	unix:/run/vtap/agent.sock
 * Host names other than "localhost" are refused: a daemon binds what the
 * operator wrote, never what a resolver answered. */
#ifndef VT_HTTP_LISTEN_H
#define VT_HTTP_LISTEN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "core/err.h"

#define HTTP_MAX_LISTEN 8
#define HTTP_SPEC_MAX 128

enum http_listen_kind { HTTP_LISTEN_TCP, HTTP_LISTEN_UNIX };

struct http_listen_addr {
	enum http_listen_kind kind;
	struct sockaddr_storage ss;     /* TCP */
	socklen_t sslen;
	char path[108];                 /* UNIX: the socket file */
	char spec[HTTP_SPEC_MAX];       /* as written, for messages */
};

/* A parsed, validated `listen` value: what the config key holds. */
struct http_listen_list {
	size_t n;
	struct http_listen_addr a[HTTP_MAX_LISTEN];
};

/* http_listen_parse() : one spec. -EINVAL with a message that quotes it. */
int http_listen_parse(const char *spec, struct http_listen_addr *a, struct vt_err *err);
/* http_listen_parse_list() : specs separated by commas and/or spaces,
 * appended to <l> (at most HTTP_MAX_LISTEN in all). */
int http_listen_parse_list(const char *val, struct http_listen_list *l, struct vt_err *err);

/* Permissions of a UNIX socket file. */
struct http_unix_perm {
	uint32_t mode;          /* e.g. 0660 */
	const char *group;      /* group name; NULL keeps the process's group */
};

/* An open listener. */
struct http_listener {
	int fd;                 /* non-blocking, close-on-exec; -1 when closed */
	enum http_listen_kind kind;
	char name[HTTP_SPEC_MAX]; /* the bound address: "127.0.0.1:41234", "unix:/x.sock" */
	uint16_t port;          /* TCP: the bound port (the ephemeral one for :0) */
	char path[108];         /* UNIX */
	dev_t dev;              /* UNIX: identity of the file we created, so */
	ino_t ino;              /* close only unlinks our own */
};

/* http_listener_open() : binds and listens (backlog <backlog>). For UNIX
 * sockets: creates the parent directory if it is missing (one level,
 * 0755); if the path exists and is a socket nobody accepts on, it is
 * removed; a live socket gives -EADDRINUSE and anything else at the path
 * -EEXIST. The socket is created with <perm> mode already applied (no
 * window where it is more open) and then chgrp'ed. Errors name the
 * address. umask() is changed briefly: call before starting threads that
 * create files. */
int http_listener_open(struct http_listener *l, const struct http_listen_addr *a,
		       const struct http_unix_perm *perm, int backlog, struct vt_err *err);
/* http_listener_close() : closes the socket and unlinks a UNIX socket file
 * if it is still the one we created. Accepts a closed listener. */
void http_listener_close(struct http_listener *l);

/* http_sockaddr_str() : "1.2.3.4:80" / "[::1]:80" for a TCP address. */
const char *http_sockaddr_str(const struct sockaddr *sa, char *buf, size_t len);

#endif
