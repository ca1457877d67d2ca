/* tun.c — TAP devices through /dev/net/tun (see tun.h). */
#include "nl/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "nl/netns.h"

struct tap_arg {
	const struct nl_tap_opts *o;
	char *name_out;
};

static int tap_open_here(void *p)
{
	const struct tap_arg *a = p;
	const struct nl_tap_opts *o = a->o;
	struct ifreq ifr;
	int fd, r;

	if (o->name && strlen(o->name) >= IFNAMSIZ)
		return -EINVAL;
	/* the device lands in the namespace of this open() */
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | (o->nonblock ? O_NONBLOCK : 0));
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (o->vnet_hdr ? IFF_VNET_HDR : 0);
	if (o->name)
		memcpy(ifr.ifr_name, o->name, strlen(o->name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		goto fail;
	if (o->vnet_hdr && o->vnet_hdr_sz &&
	    ioctl(fd, TUNSETVNETHDRSZ, &o->vnet_hdr_sz) < 0)
		goto fail;
	if (o->offloads && ioctl(fd, TUNSETOFFLOAD, (unsigned long)o->offloads) < 0)
		goto fail;
	if (o->owner >= 0 && ioctl(fd, TUNSETOWNER, (unsigned long)o->owner) < 0)
		goto fail;
	if (o->persist && ioctl(fd, TUNSETPERSIST, 1UL) < 0)
		goto fail;
	if (a->name_out) {
		memcpy(a->name_out, ifr.ifr_name, IFNAMSIZ);
		a->name_out[IFNAMSIZ - 1] = '\0';
	}
	return fd;
fail:
	r = -errno;
	close(fd);
	return r;
}

int nl_tap_open(const struct nl_tap_opts *o, char *name_out)
{
	struct tap_arg a = { o, name_out };

	if (o->in_ns)
		return nl_netns_run(o->nsfd, tap_open_here, &a);
	return tap_open_here(&a);
}

int nl_tap_set_persist(int fd, bool on)
{
	return ioctl(fd, TUNSETPERSIST, on ? 1UL : 0UL) < 0 ? -errno : 0;
}
