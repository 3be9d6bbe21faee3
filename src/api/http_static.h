/* Static files of the web app for the HTTP transport: GET/HEAD of any path outside the
 * API base, from one folder, with single-page-app fallback to index.html. MHD thread. */
#ifndef SB_API_HTTP_STATIC_H
#define SB_API_HTTP_STATIC_H

#include <microhttpd.h>

enum MHD_Result sb_http_static_serve(struct MHD_Connection *conn, const char *folder,
                                     const char *url);

#endif
