/* TCP control service: one command per line, one JSON object per reply line. */
#include "guestd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <net/if.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONN 256
#define LINE_MAX_LEN 256

static int nconn;
static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;

int server_listen(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_ANY)};
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 128) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int is_num(const char *s) {
    if (!s || !*s) return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

/* Returns 0 to keep the connection, 1 to close it after replying. */
static int handle(char *line, char *out, size_t outlen) {
    char *save = NULL, *argv[4] = {0};
    int argc = 0;
    for (char *w = strtok_r(line, " \t", &save); w && argc < 4; w = strtok_r(NULL, " \t", &save)) argv[argc++] = w;
    out[0] = 0;
    if (argc == 0) return 0; /* blank line: no reply */
    const char *cmd = argv[0];
    if (!strcmp(cmd, "ping")) {
        snprintf(out, outlen, "{\"ok\":true,\"tick\":%llu}", (unsigned long long)current_tick());
    } else if (!strcmp(cmd, "status")) {
        char m[200], d[300];
        mem_status_json(m, sizeof(m));
        disk_status_json(d, sizeof(d));
        snprintf(out, outlen,
                 "{\"ok\":true,\"tick\":%llu,\"uptime_ms\":%llu,\"boot_id\":\"%s\",\"ip\":\"%s\",\"port\":%d,"
                 "\"console_drops\":%llu,\"mem\":%s,\"disk\":%s}",
                 (unsigned long long)current_tick(), (unsigned long long)boot_ms(), boot_id(), g_cfg.ip, g_cfg.port,
                 (unsigned long long)console_dropped(), m, d);
    } else if (!strcmp(cmd, "mem-start")) {
        if ((argc > 1 && !is_num(argv[1])) || (argc > 2 && !is_num(argv[2])) || argc > 3)
            snprintf(out, outlen, "{\"ok\":false,\"error\":\"usage: mem-start [MiB] [MiB/s]\"}");
        else
            mem_start(argc > 1 ? atol(argv[1]) : 0, argc > 2 ? atol(argv[2]) : -1, out, outlen);
    } else if (!strcmp(cmd, "mem-stop")) {
        mem_stop(out, outlen);
    } else if (!strcmp(cmd, "mem-verify")) {
        mem_verify(out, outlen);
    } else if (!strcmp(cmd, "mem-corrupt")) {
        if (argc != 2 || !is_num(argv[1])) snprintf(out, outlen, "{\"ok\":false,\"error\":\"usage: mem-corrupt PAGE\"}");
        else mem_corrupt(atol(argv[1]), out, outlen);
    } else if (!strcmp(cmd, "disk-start")) {
        const char *dev = NULL;
        long rate = -1;
        int bad = argc > 3;
        for (int i = 1; i < argc; i++) {
            if (argv[i][0] == '/' && !dev) dev = argv[i];
            else if (is_num(argv[i]) && rate < 0) rate = atol(argv[i]);
            else bad = 1;
        }
        if (bad) snprintf(out, outlen, "{\"ok\":false,\"error\":\"usage: disk-start [DEV] [KiB/s]\"}");
        else disk_start(dev, rate, out, outlen);
    } else if (!strcmp(cmd, "disk-stop")) {
        disk_stop(out, outlen);
    } else if (!strcmp(cmd, "disk-verify")) {
        const char *dev = NULL;
        unsigned long long minack = 0;
        int bad = argc > 3, have_min = 0;
        for (int i = 1; i < argc; i++) {
            if (argv[i][0] == '/' && !dev) dev = argv[i];
            else if (is_num(argv[i]) && !have_min) {
                minack = strtoull(argv[i], NULL, 10);
                have_min = 1;
            } else bad = 1;
        }
        if (bad) snprintf(out, outlen, "{\"ok\":false,\"error\":\"usage: disk-verify [DEV] [MINACK]\"}");
        else disk_verify(dev, minack, out, outlen);
    } else if (!strcmp(cmd, "help")) {
        snprintf(out, outlen,
                 "{\"ok\":true,\"commands\":[\"ping\",\"status\",\"mem-start [MiB] [MiB/s]\",\"mem-stop\",\"mem-verify\","
                 "\"mem-corrupt PAGE\",\"disk-start [DEV] [KiB/s]\",\"disk-stop\",\"disk-verify [DEV] [MINACK]\",\"poweroff\",\"quit\"]}");
    } else if (!strcmp(cmd, "quit")) {
        snprintf(out, outlen, "{\"ok\":true}");
        return 1;
    } else if (!strcmp(cmd, "poweroff")) {
        snprintf(out, outlen, "{\"ok\":true}");
        return 2;
    } else {
        snprintf(out, outlen, "{\"ok\":false,\"error\":\"unknown command\"}");
    }
    return 0;
}

/* Take every non-loopback interface down. Debian's 6.1 kernel can spin
 * forever in virtnet_poll during power-off when a virtio-net interrupt
 * arrives after device_shutdown() broke the queues (fixed upstream by
 * "virtio_ring: fix infinite loop in virtnet_poll_cleantx when device is
 * broken"); with the interface down NAPI is disabled and cannot loop. */
static void links_down(void) {
    struct if_nameindex *ifs = if_nameindex();
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (!ifs || s < 0) goto out;
    for (struct if_nameindex *i = ifs; i->if_index; i++) {
        struct ifreq r;
        memset(&r, 0, sizeof(r));
        snprintf(r.ifr_name, sizeof(r.ifr_name), "%s", i->if_name);
        if (ioctl(s, SIOCGIFFLAGS, &r) != 0 || (r.ifr_flags & IFF_LOOPBACK)) continue;
        r.ifr_flags &= ~IFF_UP;
        ioctl(s, SIOCSIFFLAGS, &r);
    }
out:
    if (s >= 0) close(s);
    if (ifs) if_freenameindex(ifs);
}

void guest_poweroff(void) {
    console_printf("vmhop-guest poweroff");
    disk_shutdown();
    sync();
    links_down();
    reboot(RB_POWER_OFF);
    console_printf("vmhop-guest poweroff failed: %s", strerror(errno));
}

static void *conn_main(void *arg) {
    int fd = (int)(intptr_t)arg;
    char in[LINE_MAX_LEN * 4], out[1024];
    size_t have = 0;
    int done = 0, action = 0;
    while (!done) {
        ssize_t r = recv(fd, in + have, sizeof(in) - have, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        have += (size_t)r;
        size_t start = 0;
        for (size_t i = 0; i < have && !done; i++) {
            if (in[i] != '\n') continue;
            in[i] = 0;
            if (i > start && in[i - 1] == '\r') in[i - 1] = 0;
            char *line = in + start;
            start = i + 1;
            if (strlen(line) > LINE_MAX_LEN) {
                snprintf(out, sizeof(out), "{\"ok\":false,\"error\":\"line too long\"}");
                action = 0;
            } else {
                action = handle(line, out, sizeof(out));
            }
            if (out[0]) {
                size_t n = strlen(out);
                out[n++] = '\n';
                if (send_all(fd, out, n) != 0) done = 1;
            }
            if (action) done = 1;
        }
        memmove(in, in + start, have - start);
        have -= start;
        if (have == sizeof(in)) { /* no newline in a full buffer */
            static const char e[] = "{\"ok\":false,\"error\":\"line too long\"}\n";
            send_all(fd, e, sizeof(e) - 1);
            break;
        }
    }
    if (action == 2) {
        /* let the reply reach the client before the link goes down: wait
         * (briefly) for it to close its end */
        shutdown(fd, SHUT_WR);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        for (int i = 0; i < 10 && poll(&p, 1, 50) > 0; i++)
            if (recv(fd, in, sizeof(in), 0) <= 0) break;
    }
    close(fd);
    pthread_mutex_lock(&conn_lock);
    nconn--;
    pthread_mutex_unlock(&conn_lock);
    if (action == 2) guest_poweroff();
    return NULL;
}

void server_loop(int lfd) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOMEM) sleep_ms(50);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        pthread_mutex_lock(&conn_lock);
        int full = nconn >= MAX_CONN;
        if (!full) nconn++;
        pthread_mutex_unlock(&conn_lock);
        if (full) {
            static const char e[] = "{\"ok\":false,\"error\":\"too many connections\"}\n";
            send_all(fd, e, sizeof(e) - 1);
            close(fd);
            continue;
        }
        pthread_t th;
        if (pthread_create(&th, &attr, conn_main, (void *)(intptr_t)fd) != 0) {
            pthread_mutex_lock(&conn_lock);
            nconn--;
            pthread_mutex_unlock(&conn_lock);
            close(fd);
        }
    }
}
