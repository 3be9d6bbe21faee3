/* Plugin loader (see loader.h). One generic loader for everything dlopen'd. */
#include "plugin/loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "base/log.h"

#define SB_PLUGINS_MAX 32
/* The descriptor of ABI 8.0, the first with a size: a plugin's is never smaller. */
#define SB_PLUGIN_SIZE_MIN (offsetof(sb_plugin_t, reload) + sizeof(void *))

/* Each plugin's descriptor is copied at the daemon's size, zeroed past the plugin's own: a
 * plugin built for an older minor has no op the daemon would read beyond its struct. */
static struct {
    sb_plugin_t desc;
    const sb_plugin_t *plugin; /* &desc */
    void *dl;                  /* NULL for plugins linked in */
} sb_plugins[SB_PLUGINS_MAX];
static unsigned sb_nplugins;

static int sb_plugins_register(const sb_plugin_t *p, void *dl, const char *config_dir,
                               const char *origin)
{
    if (!p || p->abi_major != SB_PLUGIN_ABI_MAJOR || p->size < SB_PLUGIN_SIZE_MIN) {
        SB_ERROR("plugin", "%s: built for plugin ABI %u.%u, this daemon takes %u.x: not loaded",
                 origin, p ? p->abi_major : 0, p && p->abi_major == SB_PLUGIN_ABI_MAJOR ?
                 p->abi_minor : 0, SB_PLUGIN_ABI_MAJOR);
        return SB_ENOTSUP;
    }
    if (p->abi_minor != SB_PLUGIN_ABI_MINOR)
        SB_INFO("plugin", "%s: built for plugin ABI %u.%u, this daemon is %u.%u: loaded",
                origin, p->abi_major, p->abi_minor, SB_PLUGIN_ABI_MAJOR, SB_PLUGIN_ABI_MINOR);
    if (!p->package || !p->init || !p->create_handle || !p->handle_message ||
        !p->destroy_handle) {
        SB_ERROR("plugin", "%s: missing mandatory ops: not loaded", origin);
        return SB_EINVAL;
    }
    if (sb_plugins_find(p->package)) {
        SB_ERROR("plugin", "%s: %s is already loaded", origin, p->package);
        return SB_EEXIST;
    }
    if (sb_nplugins == SB_PLUGINS_MAX) {
        SB_ERROR("plugin", "%s: too many plugins", origin);
        return SB_ENOMEM;
    }
    sb_plugin_t *desc = &sb_plugins[sb_nplugins].desc;
    memset(desc, 0, sizeof(*desc));
    memcpy(desc, p, p->size < sizeof(*desc) ? p->size : sizeof(*desc));
    int rc = desc->init(sb_core_api(), config_dir);
    if (rc < 0) {
        SB_ERROR("plugin", "%s: init failed (%s)", desc->package, sb_strerror(rc));
        return rc;
    }
    sb_plugins[sb_nplugins].plugin = desc;
    sb_plugins[sb_nplugins].dl = dl;
    sb_nplugins++;
    SB_INFO("plugin", "loaded %s (%s %s)", p->package, p->name ? p->name : "",
            p->version_string ? p->version_string : "");
    return 0;
}

int sb_plugins_add(const sb_plugin_t *plugin, const char *config_dir)
{
    return sb_plugins_register(plugin, NULL, config_dir, "built-in");
}

static void sb_plugins_load_one(const char *path, const char *config_dir)
{
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        SB_ERROR("plugin", "%s: %s", path, dlerror());
        return;
    }
    sb_plugin_get_fn get = (sb_plugin_get_fn)dlsym(dl, SB_PLUGIN_ENTRY);
    if (!get) {
        SB_WARN("plugin", "%s: no %s(): not a Switchboard plugin", path, SB_PLUGIN_ENTRY);
        dlclose(dl);
        return;
    }
    if (sb_plugins_register(get(sb_core_api()), dl, config_dir, path) < 0)
        dlclose(dl);
}

int sb_plugins_load(const char *folder, const char *config_dir)
{
    DIR *dir = opendir(folder);
    if (!dir) {
        SB_WARN("plugin", "cannot open plugins folder %s: no plugins loaded", folder);
        return 0;
    }
    int before = (int)sb_nplugins;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 4 || strcmp(de->d_name + len - 3, ".so") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", folder, de->d_name);
        sb_plugins_load_one(path, config_dir);
    }
    closedir(dir);
    return (int)sb_nplugins - before;
}

void sb_plugins_each(void (*fn)(void *ctx, const sb_plugin_t *p), void *ctx)
{
    for (unsigned i = 0; i < sb_nplugins; i++)
        fn(ctx, sb_plugins[i].plugin);
}

const sb_plugin_t *sb_plugins_find(const char *package)
{
    if (!package)
        return NULL;
    for (unsigned i = 0; i < sb_nplugins; i++) {
        if (!strcmp(sb_plugins[i].plugin->package, package))
            return sb_plugins[i].plugin;
    }
    return NULL;
}

json_t *sb_plugins_info(void)
{
    json_t *all = json_object();
    for (unsigned i = 0; i < sb_nplugins; i++) {
        const sb_plugin_t *p = sb_plugins[i].plugin;
        json_object_set_new(all, p->package,
                            json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", p->name ? p->name : "",
                                      "author", p->author ? p->author : "", "description",
                                      p->description ? p->description : "", "version_string",
                                      p->version_string ? p->version_string : "", "version",
                                      p->version));
    }
    return all;
}

void sb_plugins_unload(void)
{
    while (sb_nplugins > 0) {
        sb_nplugins--;
        const sb_plugin_t *p = sb_plugins[sb_nplugins].plugin;
        if (p->deinit)
            p->deinit();
        /* Under the sanitizers, keep the code mapped so leak reports can symbolize. */
#if !defined(__SANITIZE_ADDRESS__)
        if (sb_plugins[sb_nplugins].dl)
            dlclose(sb_plugins[sb_nplugins].dl);
#endif
    }
}
