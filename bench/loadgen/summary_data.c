/* The data-channel part of sb-loadgen's JSON summary (see bench/README.md, "Data channels").
 *
 * Two kinds of counts. Rates (sent, received, Mbit/s, server CPU per message) are taken over
 * the measured window by arrival, like the media ones. Delivery is taken by send time: every
 * message carries a flag set when it was sent inside the window; the receivers count those
 * (each once) until the end of the drain that follows the window, against what the senders
 * flagged times the receivers each message has (a game room's other persons; the echo: 1).
 * Also: datagrams the kernel dropped at a process's full UDP receive buffers (the "drops"
 * column of /proc/net/udp for the sockets the process holds), which a data channel's bursts
 * cause where media does not. And what our own usrsctp saw in the window (it runs only our
 * associations): retransmissions, timeouts, duplicates, drops for a full receive window.
 * Control thread only. */

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <usrsctp.h>

#include "bench/loadgen/lg.h"

static struct sctpstat lg_sctp_mark[2];

void lg_data_sctp_mark(int which)
{
    usrsctp_get_stat(&lg_sctp_mark[which & 1]);
}

json_t *lg_data_sctp_window(void)
{
    const struct sctpstat *a = &lg_sctp_mark[0], *b = &lg_sctp_mark[1];
#define LG_D(f) (json_int_t)(b->f - a->f)
    /* (usrsctp counts no output packets for AF_CONN associations) */
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                     "packets_received", LG_D(sctps_inpackets), "data_chunks_sent",
                     LG_D(sctps_senddata), "data_chunks_received", LG_D(sctps_recvdata),
                     "sacks_sent", LG_D(sctps_sendsacks), "sacks_received", LG_D(sctps_recvsacks),
                     "retransmitted_chunks", LG_D(sctps_sendretransdata), "fast_retransmits",
                     LG_D(sctps_sendfastretrans), "t3_timeouts", LG_D(sctps_timodata),
                     "window_probes", LG_D(sctps_timowindowprobe), "dup_chunks_received",
                     LG_D(sctps_recvdupdata), "dropped_rwnd", LG_D(sctps_datadroprwnd),
                     "dropped_chunk_limit", LG_D(sctps_datadropchklmt));
#undef LG_D
}

/* How many receivers each message has. */
static unsigned lg_data_fanout(void)
{
    return lg_cfg.scenario == LG_SCEN_GAME ? lg_cfg.subscribers - 1 : 1;
}

json_t *lg_data_summary_window(const lg_totals_t *a, const lg_totals_t *b,
                               const lg_totals_t *drained, double secs)
{
    uint64_t sent_win = drained->data_sent_win;
    uint64_t expected = sent_win * lg_data_fanout();
    uint64_t delivered = drained->data_delivered_win;
    uint64_t recv = b->data_recv - a->data_recv;
    json_t *o = json_object();
    json_object_set_new(o, "data_sent", json_integer((json_int_t)(b->data_sent - a->data_sent)));
    json_object_set_new(o, "data_sent_per_s",
                        json_real((double)(b->data_sent - a->data_sent) / secs));
    json_object_set_new(o, "data_received", json_integer((json_int_t)recv));
    json_object_set_new(o, "data_received_per_s", json_real((double)recv / secs));
    json_object_set_new(
        o, "data_recv_mbps",
        json_real((double)(b->data_recv_bytes - a->data_recv_bytes) * 8 / secs / 1e6));
    json_object_set_new(
        o, "data_sent_mbps",
        json_real((double)(b->data_sent_bytes - a->data_sent_bytes) * 8 / secs / 1e6));
    json_object_set_new(o, "data_expected", json_integer((json_int_t)expected));
    json_object_set_new(o, "data_delivered", json_integer((json_int_t)delivered));
    json_object_set_new(o, "delivered_pct",
                        json_real(expected ? 100.0 * (double)delivered / (double)expected : 0));
    json_object_set_new(o, "data_dup", json_integer((json_int_t)(b->data_dups - a->data_dups)));
    json_object_set_new(o, "data_reorder",
                        json_integer((json_int_t)(b->data_reorder - a->data_reorder)));
    json_object_set_new(o, "data_gaps", json_integer((json_int_t)(b->data_gaps - a->data_gaps)));
    json_object_set_new(o, "data_blocked",
                        json_integer((json_int_t)(b->data_blocked - a->data_blocked)));
    json_object_set_new(o, "data_foreign",
                        json_integer((json_int_t)(b->data_foreign - a->data_foreign)));
    json_object_set_new(o, "sctp_up", json_integer((json_int_t)b->sctp_up));
    return o;
}

/* Settings of the data run, for the summary's top level. */
json_t *lg_data_summary_config(void)
{
    bool unreliable = lg_cfg.data_unreliable && lg_cfg.scenario != LG_SCEN_ECHO_DATA;
    json_t *o =
        json_pack("{s:s, s:i, s:i}", "channel",
                  unreliable ? "unordered, maxRetransmits 0" : "reliable, ordered", "msg_size",
                  (int)lg_cfg.msg_size, "receivers_per_msg", (int)lg_data_fanout());
    if (lg_cfg.scenario == LG_SCEN_ECHO_DATA)
        json_object_set_new(o, "window_bytes", json_integer((json_int_t)lg_cfg.data_window));
    else
        json_object_set_new(o, "msg_rate", json_real(lg_cfg.msg_rate));
    return o;
}

uint64_t lg_udp_drops(int pid)
{
    if (pid <= 0)
        return 0;
    char path[64], link[64];
    snprintf(path, sizeof(path), "/proc/%d/fd", pid);
    DIR *dir = opendir(path);
    if (!dir)
        return 0;
    GHashTable *inodes = g_hash_table_new(g_int64_hash, g_int64_equal);
    GArray *keys = g_array_new(FALSE, FALSE, sizeof(gint64));
    struct dirent *e;
    while ((e = readdir(dir))) {
        char fd[400];
        snprintf(fd, sizeof(fd), "%s/%s", path, e->d_name);
        ssize_t n = readlink(fd, link, sizeof(link) - 1);
        gint64 ino;
        if (n <= 0)
            continue;
        link[n] = '\0';
        if (sscanf(link, "socket:[%" G_GINT64_FORMAT "]", &ino) == 1)
            g_array_append_val(keys, ino);
    }
    closedir(dir);
    for (guint i = 0; i < keys->len; i++)
        g_hash_table_add(inodes, &g_array_index(keys, gint64, i));
    uint64_t drops = 0;
    static const char *tables[] = {"/proc/net/udp", "/proc/net/udp6"};
    for (int t = 0; t < 2; t++) {
        FILE *f = fopen(tables[t], "r");
        char line[512];
        while (f && fgets(line, sizeof(line), f)) {
            gint64 ino;
            unsigned long long d;
            if (sscanf(line,
                       "%*s %*s %*s %*s %*s %*s %*s %*s %*s %" G_GINT64_FORMAT " %*s %*s %llu",
                       &ino, &d) == 2 &&
                g_hash_table_contains(inodes, &ino))
                drops += d;
        }
        if (f)
            fclose(f);
    }
    g_hash_table_destroy(inodes);
    g_array_free(keys, TRUE);
    return drops;
}
