/* vmhop-guestd: workloads for the vmhop test guest.
 * Shared declarations. See guest/README.md for the protocol. */
#ifndef VMHOP_GUESTD_H
#define VMHOP_GUESTD_H

#define _GNU_SOURCE
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define GUESTD_VERSION "1.1.0"

struct config {
    char ip[64];      /* address only, no prefix (for the ready line) */
    int port;         /* TCP control port */
    long mem_mib;     /* memory dirtier size at boot, 0 = off */
    long mem_rate;    /* MiB/s, 0 = unthrottled */
    char disk[128];   /* disk writer device, "" = none */
    long disk_rate;   /* KiB/s */
    int disk_auto;    /* start the disk writer at boot when disk is set */
    char console[64]; /* where heartbeat and log lines go */
};

extern struct config g_cfg;

/* console.c-ish helpers (main.c) */
uint64_t mono_ms(void);
uint64_t boot_ms(void);
/* The kernel's random id of this boot (36 chars), read once at start: a client that
 * sees it change knows the guest rebooted, even if every workload looks healthy again. */
const char *boot_id(void);
uint64_t current_tick(void);
uint64_t console_dropped(void);
void console_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sleep_ms(long ms);
int valid_path(const char *s);

/* mem.c */
void mem_init(void);
/* start or resume; mib <= 0 / rate < 0 = keep previous. Writes a JSON reply. */
void mem_start(long mib, long rate, char *out, size_t outlen);
void mem_stop(char *out, size_t outlen);
void mem_verify(char *out, size_t outlen);
void mem_corrupt(long page, char *out, size_t outlen);
void mem_status_json(char *out, size_t outlen);

/* disk.c */
void disk_init(void);
/* dev NULL/"" = keep previous; rate < 0 = keep previous */
void disk_start(const char *dev, long rate, char *out, size_t outlen);
void disk_stop(char *out, size_t outlen);
void disk_verify(const char *dev, uint64_t minack, char *out, size_t outlen);
void disk_status_json(char *out, size_t outlen);
void disk_shutdown(void);

/* server.c */
int server_listen(int port);
void server_loop(int lfd);
/* Orderly power-off: stop the disk writer, sync, links down (a 6.1 virtio-net hang), off. */
void guest_poweroff(void);

/* powerbtn.c */
void powerbtn_start(void);

#endif
