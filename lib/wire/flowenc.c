/* flowenc.c — the field model shared by the IPFIX and NetFlow v9 encoders:
 * which elements each template kind carries, in which order and length,
 * and how each is taken from a struct flow_rec. Templates and records are
 * both written from these tables. */
#include "wire/flowenc.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "wire/ipfix_ie.h"

enum fsrc {
	S_START_MS, S_END_MS,          /* absolute ms (IPFIX 152/153) */
	S_FIRST_UP, S_LAST_UP,         /* ms since boot (v9 22/21) */
	S_OCTETS, S_PACKETS,
	S_SRC4, S_DST4, S_SRC6, S_DST6,
	S_SPORT, S_DPORT, S_PROTO, S_TCPFLAGS, S_TOS, S_ICMP,
	S_VLAN, S_INIF, S_OUTIF, S_DIR, S_END,
	S_SRCMAC, S_DSTMAC,
	S_VSI_ID, S_VSI_NAME, S_VS_UUID, S_VS_NAME,
};

static struct fe_tmpl tmpls[2][FE_KINDS];
static pthread_once_t tmpl_once = PTHREAD_ONCE_INIT;

static void add(struct fe_tmpl *t, uint16_t ie, uint16_t len, uint8_t src, uint8_t peer)
{
	t->f[t->nfields++] = (struct fe_field){ ie, len, src, peer };
	if (len == FE_VARLEN) {
		t->varlen = true;
		t->fixed_len = (uint16_t)(t->fixed_len + 1); /* the short length byte */
	} else {
		t->fixed_len = (uint16_t)(t->fixed_len + len);
	}
}

static void add_vm(struct fe_tmpl *t, enum fe_fmt fmt, uint8_t peer)
{
	bool v9 = fmt == FE_FMT_NFV9;

	add(t, IE_VIRTUAL_STATION_INTERFACE_ID, 4, S_VSI_ID, peer);
	add(t, IE_VIRTUAL_STATION_INTERFACE_NAME, v9 ? FE_V9_IFNAME_LEN : FE_VARLEN, S_VSI_NAME,
	    peer);
	add(t, IE_VIRTUAL_STATION_UUID, 16, S_VS_UUID, peer);
	add(t, IE_VIRTUAL_STATION_NAME, v9 ? FE_V9_NAME_LEN : FE_VARLEN, S_VS_NAME, peer);
}

static void build(void)
{
	for (int fmt = 0; fmt < 2; fmt++) {
		for (unsigned k = 0; k < FE_KINDS; k++) {
			struct fe_tmpl *t = &tmpls[fmt][k];
			bool v6 = k & FE_V6, v9 = fmt == FE_FMT_NFV9;

			memset(t, 0, sizeof(*t));
			t->id = (uint16_t)(FE_TMPL_BASE + k);
			if (v9) {
				add(t, IE_FLOW_START_SYS_UP_TIME, 4, S_FIRST_UP, 0);
				add(t, IE_FLOW_END_SYS_UP_TIME, 4, S_LAST_UP, 0);
			} else {
				add(t, IE_FLOW_START_MILLISECONDS, 8, S_START_MS, 0);
				add(t, IE_FLOW_END_MILLISECONDS, 8, S_END_MS, 0);
			}
			add(t, IE_OCTET_DELTA_COUNT, 8, S_OCTETS, 0);
			add(t, IE_PACKET_DELTA_COUNT, 8, S_PACKETS, 0);
			if (v6) {
				add(t, IE_SOURCE_IPV6_ADDRESS, 16, S_SRC6, 0);
				add(t, IE_DESTINATION_IPV6_ADDRESS, 16, S_DST6, 0);
			} else {
				add(t, IE_SOURCE_IPV4_ADDRESS, 4, S_SRC4, 0);
				add(t, IE_DESTINATION_IPV4_ADDRESS, 4, S_DST4, 0);
			}
			add(t, IE_SOURCE_TRANSPORT_PORT, 2, S_SPORT, 0);
			add(t, IE_DESTINATION_TRANSPORT_PORT, 2, S_DPORT, 0);
			add(t, IE_PROTOCOL_IDENTIFIER, 1, S_PROTO, 0);
			/* RFC 7125 made tcpControlBits 16 bits; v9 keeps 1 byte */
			add(t, IE_TCP_CONTROL_BITS, v9 ? 1 : 2, S_TCPFLAGS, 0);
			add(t, IE_IP_CLASS_OF_SERVICE, 1, S_TOS, 0);
			/* ICMP type and code travel as type<<8|code in the
			 * destination port (as nfdump and softflowd do). IPFIX
			 * has no icmpTypeCode element: next to the ports it
			 * makes nfcapd 1.7 overwrite SCTP and DCCP ports. v9
			 * carries ICMP_TYPE (32) as well, for v4 and v6, since
			 * v9 collectors read ICMP type/code only from it. */
			if (v9)
				add(t, IE_ICMP_TYPE_CODE_IPV4, 2, S_ICMP, 0);
			add(t, IE_VLAN_ID, 2, S_VLAN, 0);
			add(t, IE_INGRESS_INTERFACE, 4, S_INIF, 0);
			add(t, IE_EGRESS_INTERFACE, 4, S_OUTIF, 0);
			add(t, IE_FLOW_DIRECTION, 1, S_DIR, 0);
			add(t, IE_FLOW_END_REASON, 1, S_END, 0);
			add(t, IE_SOURCE_MAC_ADDRESS, 6, S_SRCMAC, 0);
			add(t, IE_DESTINATION_MAC_ADDRESS, 6, S_DSTMAC, 0);
			if (k & FE_VM)
				add_vm(t, (enum fe_fmt)fmt, 0);
			if (k & FE_PEER)
				add_vm(t, (enum fe_fmt)fmt, 1);
		}
	}
}

const struct fe_tmpl *fe_tmpl(enum fe_fmt fmt, unsigned kind)
{
	pthread_once(&tmpl_once, build);
	return &tmpls[fmt == FE_FMT_NFV9][kind % FE_KINDS];
}

static size_t vm_strlen(const char *s, size_t max)
{
	return strnlen(s, max);
}

static const struct vm_ident *vm_of(const struct flow_rec *r, uint8_t peer)
{
	return peer ? &r->peer : &r->vm;
}

size_t fe_record_len(const struct fe_tmpl *t, const struct flow_rec *r)
{
	size_t len = t->fixed_len;

	if (!t->varlen)
		return len;
	for (uint16_t i = 0; i < t->nfields; i++) {
		const struct fe_field *f = &t->f[i];
		size_t n;
		if (f->len != FE_VARLEN)
			continue;
		n = f->src == S_VSI_NAME ? vm_strlen(vm_of(r, f->peer)->ifname, VT_IFNAME_MAX - 1)
					 : vm_strlen(vm_of(r, f->peer)->name, VT_NAME_MAX - 1);
		len += n + (n >= 255 ? 2 : 0);
	}
	return len;
}

void fe_put_template(struct vt_wr *w, const struct fe_tmpl *t)
{
	wr_u16(w, t->id);
	wr_u16(w, t->nfields);
	for (uint16_t i = 0; i < t->nfields; i++) {
		wr_u16(w, t->f[i].ie);
		wr_u16(w, t->f[i].len);
	}
}

void fe_put_varlen(struct vt_wr *w, const void *data, size_t len)
{
	if (len > 65535)
		len = 65535;
	if (len < 255) {
		wr_u8(w, (uint8_t)len);
	} else {
		wr_u8(w, 255);
		wr_u16(w, (uint16_t)len);
	}
	wr_bytes(w, data, len);
}

/* put_str() : a string field, varlen or fixed and NUL-padded. */
static void put_str(struct vt_wr *w, uint16_t flen, const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	if (flen == FE_VARLEN) {
		fe_put_varlen(w, s, n);
		return;
	}
	if (n > flen)
		n = flen;
	wr_bytes(w, s, n);
	wr_zero(w, flen - n);
}

/* uptime() : v9 FIRST/LAST_SWITCHED: ms since <boot> in 32 bits,
 * clamped (nfv9_time_ok() tells the exporter beforehand). */
static uint32_t uptime(uint64_t ms, uint64_t boot)
{
	if (ms <= boot)
		return 0;
	return ms - boot > UINT32_MAX ? UINT32_MAX : (uint32_t)(ms - boot);
}

void fe_put_record(struct vt_wr *w, const struct fe_tmpl *t, const struct flow_rec *r,
		   uint64_t boot_ms)
{
	for (uint16_t i = 0; i < t->nfields; i++) {
		const struct fe_field *f = &t->f[i];
		const struct vm_ident *vm = vm_of(r, f->peer);

		switch (f->src) {
		case S_START_MS: wr_u64(w, r->first_ms); break;
		case S_END_MS: wr_u64(w, r->last_ms); break;
		case S_FIRST_UP: wr_u32(w, uptime(r->first_ms, boot_ms)); break;
		case S_LAST_UP: wr_u32(w, uptime(r->last_ms, boot_ms)); break;
		case S_OCTETS: wr_u64(w, r->bytes); break;
		case S_PACKETS: wr_u64(w, r->packets); break;
		case S_SRC4: wr_bytes(w, r->src.b + 12, 4); break;
		case S_DST4: wr_bytes(w, r->dst.b + 12, 4); break;
		case S_SRC6: wr_bytes(w, r->src.b, 16); break;
		case S_DST6: wr_bytes(w, r->dst.b, 16); break;
		case S_SPORT: wr_u16(w, r->sport); break;
		case S_DPORT: wr_u16(w, r->dport); break;
		case S_PROTO: wr_u8(w, r->proto); break;
		case S_TCPFLAGS: wr_uint(w, r->tcp_flags, f->len); break;
		case S_TOS: wr_u8(w, r->tos); break;
		case S_ICMP: wr_u16(w, r->proto == 1 || r->proto == 58 ? r->dport : 0); break;
		case S_VLAN: wr_u16(w, r->vlan); break;
		case S_INIF: wr_u32(w, r->in_if); break;
		case S_OUTIF: wr_u32(w, r->out_if); break;
		case S_DIR: wr_u8(w, r->direction); break;
		case S_END: wr_u8(w, r->end_reason); break;
		case S_SRCMAC: wr_bytes(w, r->src_mac, 6); break;
		case S_DSTMAC: wr_bytes(w, r->dst_mac, 6); break;
		case S_VSI_ID: wr_u32(w, vm->ifindex); break;
		case S_VSI_NAME: put_str(w, f->len, vm->ifname, VT_IFNAME_MAX - 1); break;
		case S_VS_UUID: wr_bytes(w, vm->uuid, 16); break;
		case S_VS_NAME: put_str(w, f->len, vm->name, VT_NAME_MAX - 1); break;
		default: w->err = true; break;
		}
	}
}

/* ---- sets and whole items ------------------------------------------------ */

bool fe_set_close(struct fe_msg *m)
{
	size_t len, a = m->set_align ? m->set_align : 1;

	if (!m->set)
		return true;
	len = (size_t)(m->w.p - m->set);
	if (len % a)
		wr_zero(&m->w, a - len % a);
	if (wr_failed(&m->w))
		return false;
	st_be16(m->set + 2, (uint16_t)(m->w.p - m->set));
	m->set = NULL;
	return true;
}

bool fe_set_open(struct fe_msg *m, uint16_t id)
{
	uint8_t *p;

	if (m->set && m->set_id == id)
		return true;
	if (!fe_set_close(m))
		return false;
	p = wr_reserve(&m->w, 4);
	if (!p)
		return false;
	st_be16(p, id);
	st_be16(p + 2, 0);
	m->set = p;
	m->set_id = id;
	return true;
}

int fe_nospc(struct fe_msg *m, struct fe_save s)
{
	m->w.p = s.p;
	m->w.err = false;
	m->set = s.set;
	m->set_id = s.set_id;
	if (s.set) /* closing it wrote a length: an open set has none yet */
		st_be16(s.set + 2, 0);
	return -ENOSPC;
}

int fe_add_flow(struct fe_msg *m, enum fe_fmt fmt, const struct flow_rec *r)
{
	struct fe_save s = fe_save(m);
	const struct fe_tmpl *t = fe_tmpl(fmt, fe_kind(r));

	if (!fe_set_open(m, t->id))
		return fe_nospc(m, s);
	fe_put_record(&m->w, t, r, m->boot_ms);
	if (wr_failed(&m->w))
		return fe_nospc(m, s);
	m->items++;
	m->data_records++;
	m->flows++;
	if (r->last_ms > m->max_last_ms)
		m->max_last_ms = r->last_ms;
	m->packets += r->packets;
	m->octets += r->bytes;
	return 0;
}

int fe_add_options(struct fe_msg *m, const struct fe_counters *c, uint32_t domain)
{
	struct fe_save s = fe_save(m);

	if (!fe_set_open(m, FE_TMPL_OPTIONS))
		return fe_nospc(m, s);
	wr_u32(&m->w, domain);
	wr_u64(&m->w, c->messages);
	wr_u64(&m->w, c->records);
	wr_u64(&m->w, c->octets);
	wr_u64(&m->w, c->ignored_packets);
	wr_u64(&m->w, c->notsent_flows);
	wr_u64(&m->w, c->notsent_packets);
	wr_u64(&m->w, c->notsent_octets);
	wr_u16(&m->w, c->active_timeout_s);
	wr_u16(&m->w, c->idle_timeout_s);
	if (wr_failed(&m->w))
		return fe_nospc(m, s);
	m->items++;
	m->data_records++;
	return 0;
}
