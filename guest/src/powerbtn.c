/* ACPI power button: QMP system_powerdown (virsh shutdown, `vmhop shutdown`) presses the
 * button; the kernel's button driver reports KEY_POWER on an evdev device, and this thread
 * powers the guest off the same careful way the `poweroff` command does. Without it the
 * guest would ignore the request and an orderly shutdown could only time out. */
#include <dirent.h>
#include <fcntl.h>
#include <linux/input.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "guestd.h"

static void *powerbtn_main(void *arg) {
    (void)arg;
    struct pollfd fds[16];
    int n = 0;
    /* evdev nodes appear once the modules are loaded by /init; retry for a while. */
    for (int tries = 0; n == 0 && tries < 100; tries++) {
        DIR *d = opendir("/dev/input");
        struct dirent *e;
        while (d && (e = readdir(d)) && n < 16) {
            if (strncmp(e->d_name, "event", 5) != 0) continue;
            char path[64];
            snprintf(path, sizeof(path), "/dev/input/%s", e->d_name);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd >= 0) fds[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
        }
        if (d) closedir(d);
        if (n == 0) sleep_ms(100);
    }
    if (n == 0) {
        console_printf("vmhop-guestd: no input device: the ACPI power button is ignored");
        return NULL;
    }
    for (;;) {
        if (poll(fds, (nfds_t)n, -1) <= 0) continue;
        for (int i = 0; i < n; i++) {
            if (!(fds[i].revents & POLLIN)) continue;
            struct input_event ev;
            if (read(fds[i].fd, &ev, sizeof(ev)) != (ssize_t)sizeof(ev)) continue;
            if (ev.type == EV_KEY && ev.code == KEY_POWER && ev.value == 1) {
                console_printf("vmhop-guest ACPI power button");
                guest_poweroff();
            }
        }
    }
    return NULL;
}

void powerbtn_start(void) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    if (pthread_create(&th, &attr, powerbtn_main, NULL) != 0) console_printf("vmhop-guestd: cannot watch the power button");
}
