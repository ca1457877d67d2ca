/* http_static.h — serving files from one directory (the web console's
 * assets) through a route with a rest parameter named "path":
 *
 *	struct http_static *st = http_static_new("/usr/share/vtap/web", &err);
 *	http_router_add(r, HTTP_GET, "/ui/{path*}", http_static_handler, st);
 *
 * Nothing outside the directory is ever opened: the request path is
 * already free of dot segments (http_msg), hidden names (".git") are not
 * served, and files are opened with openat2(RESOLVE_BENEATH), so the
 * kernel refuses a symlink that leads out (without openat2, no symlink is
 * followed at all). A directory is served by its
 * index.html (no listings); "/ui" redirects to "/ui/" so relative links
 * work. Bodies are streamed from the file (no size limit, one bounded
 * buffer); ETag/Last-Modified give 304 on revalidation. */
#ifndef VT_HTTP_STATIC_H
#define VT_HTTP_STATIC_H

#include "core/err.h"

struct http_req;
struct http_static;

/* http_static_new() : serves <dir> (kept open). NULL with <err> naming
 * the directory. */
struct http_static *http_static_new(const char *dir, struct vt_err *err);
void http_static_free(struct http_static *st);
/* http_static_handler() : the route handler; <arg> is the struct
 * http_static. */
void http_static_handler(struct http_req *req, void *arg);
/* http_content_type() : the media type for a file name, by extension
 * ("application/octet-stream" when unknown). */
const char *http_content_type(const char *name);

#endif
