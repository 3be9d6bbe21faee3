/* Static file serving (see http_static.h). Refuses anything that could leave the folder
 * (".." segments, backslashes, NUL) and never lists directories. */
#include "api/http_static.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/http_util.h"

static const struct {
    const char *ext;
    const char *type;
} sb_static_types[] = {
    {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
    {".json", "application/json"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
    {".ico", "image/x-icon"}, {".woff2", "font/woff2"}, {".map", "application/json"},
    {".txt", "text/plain; charset=utf-8"}, {".webmanifest", "application/manifest+json"},
};

static const char *sb_static_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot) {
        for (size_t i = 0; i < sizeof(sb_static_types) / sizeof(sb_static_types[0]); i++) {
            if (!strcmp(dot, sb_static_types[i].ext))
                return sb_static_types[i].type;
        }
    }
    return "application/octet-stream";
}

static enum MHD_Result sb_static_status(struct MHD_Connection *conn, unsigned status,
                                        const char *text)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
    enum MHD_Result r = sb_http_queue(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

/* Open folder/rel if it is a regular file; -1 otherwise. */
static int sb_static_open(const char *folder, const char *rel, struct stat *st)
{
    char path[4096];
    if (snprintf(path, sizeof(path), "%s/%s", folder, rel) >= (int)sizeof(path))
        return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return -1;
    }
    return fd;
}

enum MHD_Result sb_http_static_serve(struct MHD_Connection *conn, const char *folder,
                                     const char *url)
{
    if (!folder || !*folder)
        return sb_static_status(conn, MHD_HTTP_NOT_FOUND, "Not found\n");
    if (strstr(url, "..") || strchr(url, '\\') || url[0] != '/')
        return sb_static_status(conn, MHD_HTTP_BAD_REQUEST, "Bad path\n");
    const char *rel = url + 1;
    if (*rel == '\0')
        rel = "index.html";
    struct stat st;
    int fd = sb_static_open(folder, rel, &st);
    const char *served = rel;
    if (fd < 0 && !strchr(strrchr(url, '/'), '.')) {
        /* A client-side route such as /room/1234: the app's index handles it. */
        served = "index.html";
        fd = sb_static_open(folder, served, &st);
    }
    if (fd < 0)
        return sb_static_status(conn, MHD_HTTP_NOT_FOUND, "Not found\n");
    struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
    if (!resp) {
        close(fd);
        return sb_static_status(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "Error\n");
    }
    MHD_add_response_header(resp, "Content-Type", sb_static_type(served));
    /* Vite fingerprints assets: cache those hard, revalidate the index. */
    MHD_add_response_header(resp, "Cache-Control",
                            strncmp(served, "assets/", 7) ? "no-cache"
                                                          : "public, max-age=31536000, immutable");
    enum MHD_Result r = sb_http_queue(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return r;
}
