/* ie_table.c — the IPFIX / NetFlow v9 element registry and the mapping of
 * elements into struct flow_rec (see ie_table.h and
 * docs/wire/flow-decoding.md for the rules). */
#include "wire/ie_table.h"

#include <string.h>

#include "core/be.h"
#include "core/compiler.h"
#include "wire/ipfix_ie.h"

_Static_assert(IEM__COUNT <= 128, "ie_acc.have is a 2 x 64-bit mask");

#define U IET_UNSIGNED
#define O IET_OCTETS
#define S IET_STRING

/* IANA "IPFIX Information Elements" (https://www.iana.org/assignments/ipfix),
 * sorted by id. NetFlow v9 (RFC 3954) field types share ids 1-127 and the
 * Cisco NSEL/NAT numbers that IANA adopted. Elements we do not map are
 * listed for their names and types only. */
static const struct ie_def iana[] = {
	{ 1, 0, U, IEM_BYTES, "octetDeltaCount" },
	{ 2, 0, U, IEM_PACKETS, "packetDeltaCount" },
	{ 3, 0, U, IEM_NONE, "deltaFlowCount" },
	{ 4, 0, U, IEM_PROTO, "protocolIdentifier" },
	{ 5, 0, U, IEM_TOS, "ipClassOfService" },
	{ 6, 0, U, IEM_TCP_FLAGS, "tcpControlBits" },
	{ 7, 0, U, IEM_SPORT, "sourceTransportPort" },
	{ 8, 0, IET_IPV4, IEM_SRC4, "sourceIPv4Address" },
	{ 9, 0, U, IEM_SRC_MASK4, "sourceIPv4PrefixLength" },
	{ 10, 0, U, IEM_IN_IF, "ingressInterface" },
	{ 11, 0, U, IEM_DPORT, "destinationTransportPort" },
	{ 12, 0, IET_IPV4, IEM_DST4, "destinationIPv4Address" },
	{ 13, 0, U, IEM_DST_MASK4, "destinationIPv4PrefixLength" },
	{ 14, 0, U, IEM_OUT_IF, "egressInterface" },
	{ 15, 0, IET_IPV4, IEM_NEXTHOP4, "ipNextHopIPv4Address" },
	{ 16, 0, U, IEM_SRC_AS, "bgpSourceAsNumber" },
	{ 17, 0, U, IEM_DST_AS, "bgpDestinationAsNumber" },
	{ 18, 0, IET_IPV4, IEM_NONE, "bgpNextHopIPv4Address" },
	{ 19, 0, U, IEM_NONE, "postMCastPacketDeltaCount" },
	{ 20, 0, U, IEM_NONE, "postMCastOctetDeltaCount" },
	{ 21, 0, U, IEM_END_SYSUP, "flowEndSysUpTime" },
	{ 22, 0, U, IEM_START_SYSUP, "flowStartSysUpTime" },
	{ 23, 0, U, IEM_BYTES_POST, "postOctetDeltaCount" },
	{ 24, 0, U, IEM_PACKETS_POST, "postPacketDeltaCount" },
	{ 25, 0, U, IEM_NONE, "minimumIpTotalLength" },
	{ 26, 0, U, IEM_NONE, "maximumIpTotalLength" },
	{ 27, 0, IET_IPV6, IEM_SRC6, "sourceIPv6Address" },
	{ 28, 0, IET_IPV6, IEM_DST6, "destinationIPv6Address" },
	{ 29, 0, U, IEM_SRC_MASK6, "sourceIPv6PrefixLength" },
	{ 30, 0, U, IEM_DST_MASK6, "destinationIPv6PrefixLength" },
	{ 31, 0, U, IEM_NONE, "flowLabelIPv6" },
	{ 32, 0, U, IEM_ICMP_TC, "icmpTypeCodeIPv4" },
	{ 33, 0, U, IEM_NONE, "igmpType" },
	{ 34, 0, U, IEM_SAMPLING_INTERVAL, "samplingInterval" },
	{ 35, 0, U, IEM_NONE, "samplingAlgorithm" },
	{ 36, 0, U, IEM_NONE, "flowActiveTimeout" },
	{ 37, 0, U, IEM_NONE, "flowIdleTimeout" },
	{ 38, 0, U, IEM_NONE, "engineType" },
	{ 39, 0, U, IEM_NONE, "engineId" },
	{ 40, 0, U, IEM_NONE, "exportedOctetTotalCount" },
	{ 41, 0, U, IEM_NONE, "exportedMessageTotalCount" },
	{ 42, 0, U, IEM_NONE, "exportedFlowRecordTotalCount" },
	{ 43, 0, IET_IPV4, IEM_NONE, "ipv4RouterSc" },
	{ 44, 0, IET_IPV4, IEM_NONE, "sourceIPv4Prefix" },
	{ 45, 0, IET_IPV4, IEM_NONE, "destinationIPv4Prefix" },
	{ 46, 0, U, IEM_NONE, "mplsTopLabelType" },
	{ 47, 0, IET_IPV4, IEM_NONE, "mplsTopLabelIPv4Address" },
	{ 48, 0, U, IEM_SAMPLER_ID, "samplerId" },
	{ 49, 0, U, IEM_NONE, "samplerMode" },
	{ 50, 0, U, IEM_SAMPLER_RANDOM_INTERVAL, "samplerRandomInterval" },
	{ 51, 0, U, IEM_NONE, "classId" },
	{ 52, 0, U, IEM_NONE, "minimumTTL" },
	{ 53, 0, U, IEM_NONE, "maximumTTL" },
	{ 54, 0, U, IEM_NONE, "fragmentIdentification" },
	{ 55, 0, U, IEM_NONE, "postIpClassOfService" },
	{ 56, 0, IET_MAC, IEM_SRC_MAC, "sourceMacAddress" },
	{ 57, 0, IET_MAC, IEM_DST_MAC_POST, "postDestinationMacAddress" },
	{ 58, 0, U, IEM_VLAN, "vlanId" },
	{ 59, 0, U, IEM_NONE, "postVlanId" },
	{ 60, 0, U, IEM_IPVER, "ipVersion" },
	{ 61, 0, U, IEM_DIRECTION, "flowDirection" },
	{ 62, 0, IET_IPV6, IEM_NEXTHOP6, "ipNextHopIPv6Address" },
	{ 63, 0, IET_IPV6, IEM_NONE, "bgpNextHopIPv6Address" },
	{ 64, 0, U, IEM_NONE, "ipv6ExtensionHeaders" },
	{ 70, 0, O, IEM_NONE, "mplsTopLabelStackSection" },
	{ 71, 0, O, IEM_NONE, "mplsLabelStackSection2" },
	{ 72, 0, O, IEM_NONE, "mplsLabelStackSection3" },
	{ 73, 0, O, IEM_NONE, "mplsLabelStackSection4" },
	{ 74, 0, O, IEM_NONE, "mplsLabelStackSection5" },
	{ 75, 0, O, IEM_NONE, "mplsLabelStackSection6" },
	{ 76, 0, O, IEM_NONE, "mplsLabelStackSection7" },
	{ 77, 0, O, IEM_NONE, "mplsLabelStackSection8" },
	{ 78, 0, O, IEM_NONE, "mplsLabelStackSection9" },
	{ 79, 0, O, IEM_NONE, "mplsLabelStackSection10" },
	{ 80, 0, IET_MAC, IEM_DST_MAC, "destinationMacAddress" },
	{ 81, 0, IET_MAC, IEM_SRC_MAC_POST, "postSourceMacAddress" },
	{ 82, 0, S, IEM_NONE, "interfaceName" },
	{ 83, 0, S, IEM_NONE, "interfaceDescription" },
	{ 84, 0, S, IEM_NONE, "samplerName" },
	{ 85, 0, U, IEM_BYTES_TOTAL, "octetTotalCount" },
	{ 86, 0, U, IEM_PACKETS_TOTAL, "packetTotalCount" },
	{ 87, 0, U, IEM_NONE, "flagsAndSamplerId" },
	{ 88, 0, U, IEM_NONE, "fragmentOffset" },
	{ 89, 0, U, IEM_NONE, "forwardingStatus" },
	{ 90, 0, O, IEM_NONE, "mplsVpnRouteDistinguisher" },
	{ 91, 0, U, IEM_NONE, "mplsTopLabelPrefixLength" },
	{ 94, 0, S, IEM_NONE, "applicationDescription" },
	{ 95, 0, O, IEM_NONE, "applicationId" },
	{ 96, 0, S, IEM_NONE, "applicationName" },
	{ 98, 0, U, IEM_NONE, "postIpDiffServCodePoint" },
	{ 99, 0, U, IEM_NONE, "multicastReplicationFactor" },
	{ 100, 0, S, IEM_NONE, "className" },
	{ 128, 0, U, IEM_NONE, "bgpNextAdjacentAsNumber" },
	{ 129, 0, U, IEM_NONE, "bgpPrevAdjacentAsNumber" },
	{ 130, 0, IET_IPV4, IEM_NONE, "exporterIPv4Address" },
	{ 131, 0, IET_IPV6, IEM_NONE, "exporterIPv6Address" },
	{ 132, 0, U, IEM_NONE, "droppedOctetDeltaCount" },
	{ 133, 0, U, IEM_NONE, "droppedPacketDeltaCount" },
	{ 134, 0, U, IEM_NONE, "droppedOctetTotalCount" },
	{ 135, 0, U, IEM_NONE, "droppedPacketTotalCount" },
	{ 136, 0, U, IEM_END_REASON, "flowEndReason" },
	{ 137, 0, U, IEM_NONE, "commonPropertiesId" },
	{ 138, 0, U, IEM_NONE, "observationPointId" },
	{ 139, 0, U, IEM_ICMP_TC, "icmpTypeCodeIPv6" },
	{ 140, 0, IET_IPV6, IEM_NONE, "mplsTopLabelIPv6Address" },
	{ 141, 0, U, IEM_NONE, "lineCardId" },
	{ 142, 0, U, IEM_NONE, "portId" },
	{ 143, 0, U, IEM_NONE, "meteringProcessId" },
	{ 144, 0, U, IEM_NONE, "exportingProcessId" },
	{ 145, 0, U, IEM_NONE, "templateId" },
	{ 146, 0, U, IEM_NONE, "wlanChannelId" },
	{ 147, 0, S, IEM_NONE, "wlanSSID" },
	{ 148, 0, U, IEM_NONE, "flowId" },
	{ 149, 0, U, IEM_NONE, "observationDomainId" },
	{ 150, 0, IET_DATE_S, IEM_START_S, "flowStartSeconds" },
	{ 151, 0, IET_DATE_S, IEM_END_S, "flowEndSeconds" },
	{ 152, 0, IET_DATE_MS, IEM_START_MS, "flowStartMilliseconds" },
	{ 153, 0, IET_DATE_MS, IEM_END_MS, "flowEndMilliseconds" },
	{ 154, 0, IET_DATE_US, IEM_START_US, "flowStartMicroseconds" },
	{ 155, 0, IET_DATE_US, IEM_END_US, "flowEndMicroseconds" },
	{ 156, 0, IET_DATE_NS, IEM_START_NS, "flowStartNanoseconds" },
	{ 157, 0, IET_DATE_NS, IEM_END_NS, "flowEndNanoseconds" },
	{ 158, 0, U, IEM_START_DELTA_US, "flowStartDeltaMicroseconds" },
	{ 159, 0, U, IEM_END_DELTA_US, "flowEndDeltaMicroseconds" },
	{ 160, 0, IET_DATE_MS, IEM_SYS_INIT_MS, "systemInitTimeMilliseconds" },
	{ 161, 0, U, IEM_NONE, "flowDurationMilliseconds" },
	{ 162, 0, U, IEM_NONE, "flowDurationMicroseconds" },
	{ 163, 0, U, IEM_NONE, "observedFlowTotalCount" },
	{ 164, 0, U, IEM_NONE, "ignoredPacketTotalCount" },
	{ 165, 0, U, IEM_NONE, "ignoredOctetTotalCount" },
	{ 166, 0, U, IEM_NONE, "notSentFlowTotalCount" },
	{ 167, 0, U, IEM_NONE, "notSentPacketTotalCount" },
	{ 168, 0, U, IEM_NONE, "notSentOctetTotalCount" },
	{ 176, 0, U, IEM_ICMP_TYPE, "icmpTypeIPv4" },
	{ 177, 0, U, IEM_ICMP_CODE, "icmpCodeIPv4" },
	{ 178, 0, U, IEM_ICMP_TYPE, "icmpTypeIPv6" },
	{ 179, 0, U, IEM_ICMP_CODE, "icmpCodeIPv6" },
	{ 180, 0, U, IEM_NONE, "udpSourcePort" },
	{ 181, 0, U, IEM_NONE, "udpDestinationPort" },
	{ 182, 0, U, IEM_NONE, "tcpSourcePort" },
	{ 183, 0, U, IEM_NONE, "tcpDestinationPort" },
	{ 184, 0, U, IEM_NONE, "tcpSequenceNumber" },
	{ 185, 0, U, IEM_NONE, "tcpAcknowledgementNumber" },
	{ 186, 0, U, IEM_NONE, "tcpWindowSize" },
	{ 189, 0, U, IEM_NONE, "ipHeaderLength" },
	{ 190, 0, U, IEM_NONE, "totalLengthIPv4" },
	{ 192, 0, U, IEM_NONE, "ipTTL" },
	{ 195, 0, U, IEM_NONE, "ipDiffServCodePoint" },
	{ 197, 0, U, IEM_NONE, "fragmentFlags" },
	{ 198, 0, U, IEM_NONE, "octetDeltaSumOfSquares" },
	{ 201, 0, U, IEM_NONE, "mplsLabelStackLength" },
	{ 205, 0, U, IEM_NONE, "udpMessageLength" },
	{ 210, 0, O, IEM_NONE, "paddingOctets" },
	{ 224, 0, U, IEM_NONE, "ipTotalLength" },
	{ 225, 0, IET_IPV4, IEM_NONE, "postNATSourceIPv4Address" },
	{ 226, 0, IET_IPV4, IEM_NONE, "postNATDestinationIPv4Address" },
	{ 227, 0, U, IEM_NONE, "postNAPTSourceTransportPort" },
	{ 228, 0, U, IEM_NONE, "postNAPTDestinationTransportPort" },
	{ 230, 0, U, IEM_NONE, "natEvent" },
	{ 231, 0, U, IEM_NONE, "initiatorOctets" },
	{ 232, 0, U, IEM_NONE, "responderOctets" },
	{ 233, 0, U, IEM_NONE, "firewallEvent" },
	{ 234, 0, U, IEM_NONE, "ingressVRFID" },
	{ 235, 0, U, IEM_NONE, "egressVRFID" },
	{ 236, 0, S, IEM_NONE, "VRFname" },
	{ 239, 0, U, IEM_NONE, "biflowDirection" },
	{ 243, 0, U, IEM_VLAN_DOT1Q, "dot1qVlanId" },
	{ 244, 0, U, IEM_NONE, "dot1qPriority" },
	{ 245, 0, U, IEM_NONE, "dot1qCustomerVlanId" },
	{ 252, 0, U, IEM_NONE, "ingressPhysicalInterface" },
	{ 253, 0, U, IEM_NONE, "egressPhysicalInterface" },
	{ 256, 0, U, IEM_NONE, "ethernetType" },
	{ 291, 0, IET_LIST, IEM_NONE, "basicList" },
	{ 292, 0, IET_LIST, IEM_NONE, "subTemplateList" },
	{ 293, 0, IET_LIST, IEM_NONE, "subTemplateMultiList" },
	{ 298, 0, U, IEM_NONE, "initiatorPackets" },
	{ 299, 0, U, IEM_NONE, "responderPackets" },
	{ 302, 0, U, IEM_SELECTOR_ID, "selectorId" },
	{ 304, 0, U, IEM_NONE, "selectorAlgorithm" },
	{ 305, 0, U, IEM_SAMPLING_PKT_INTERVAL, "samplingPacketInterval" },
	{ 306, 0, U, IEM_SAMPLING_PKT_SPACE, "samplingPacketSpace" },
	{ 309, 0, U, IEM_SAMPLING_SIZE, "samplingSize" },
	{ 310, 0, U, IEM_SAMPLING_POPULATION, "samplingPopulation" },
	{ 312, 0, U, IEM_NONE, "dataLinkFrameSize" },
	{ 313, 0, O, IEM_NONE, "ipHeaderPacketSection" },
	{ 315, 0, O, IEM_NONE, "dataLinkFrameSection" },
	{ 322, 0, IET_DATE_S, IEM_NONE, "observationTimeSeconds" },
	{ 323, 0, IET_DATE_MS, IEM_NONE, "observationTimeMilliseconds" },
	{ 324, 0, IET_DATE_US, IEM_NONE, "observationTimeMicroseconds" },
	{ 325, 0, IET_DATE_NS, IEM_NONE, "observationTimeNanoseconds" },
	{ 335, 0, S, IEM_NONE, "selectorName" },
	{ 346, 0, U, IEM_NONE, "privateEnterpriseNumber" },
	{ 347, 0, O, IEM_VS_IFID, "virtualStationInterfaceId" },
	{ 348, 0, S, IEM_VS_IFNAME, "virtualStationInterfaceName" },
	{ 349, 0, O, IEM_VS_UUID, "virtualStationUUID" },
	{ 350, 0, S, IEM_VS_NAME, "virtualStationName" },
	{ 351, 0, U, IEM_NONE, "layer2SegmentId" },
	{ 352, 0, U, IEM_NONE, "layer2OctetDeltaCount" },
	{ 368, 0, U, IEM_NONE, "ingressInterfaceType" },
	{ 369, 0, U, IEM_NONE, "egressInterfaceType" },
	{ 405, 0, U, IEM_NONE, "mibObjectValueCounter" },
	{ 458, 0, U, IEM_NONE, "sourceTransportPortsLimit" },
	{ 489, 0, U, IEM_NONE, "bgpDestinationExtendedCommunityList" },
	{ 492, 0, O, IEM_NONE, "srhActiveSegmentIPv6" },
};

#undef U
#undef O
#undef S

const struct ie_def *ie_lookup(uint32_t pen, uint16_t id)
{
	size_t lo = 0, hi = ARRAY_SIZE(iana);

	if (pen != 0 && pen != IPFIX_PEN_REVERSE)
		return NULL;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (iana[mid].id == id)
			return &iana[mid];
		if (iana[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool ie_reversible(uint8_t map)
{
	switch (map) {
	case IEM_BYTES: case IEM_PACKETS: case IEM_BYTES_TOTAL:
	case IEM_PACKETS_TOTAL: case IEM_BYTES_POST: case IEM_PACKETS_POST:
	case IEM_TOS: case IEM_TCP_FLAGS:
	case IEM_START_S: case IEM_END_S: case IEM_START_MS: case IEM_END_MS:
	case IEM_START_US: case IEM_END_US: case IEM_START_NS: case IEM_END_NS:
	case IEM_START_DELTA_US: case IEM_END_DELTA_US:
	case IEM_START_SYSUP: case IEM_END_SYSUP:
		return true;
	default:
		return false;
	}
}

uint8_t ie_field_map(const struct ie_def *d, uint16_t len)
{
	if (!d || d->map == IEM_NONE || len == 0)
		return IEM_NONE;
	if (len == IPFIX_VARLEN)
		/* only strings may be variable: everything we map is fixed */
		return d->map == IEM_VS_IFNAME || d->map == IEM_VS_NAME ||
			       d->map == IEM_VS_IFID ? d->map : IEM_NONE;
	switch (d->map) {
	case IEM_VS_IFNAME: case IEM_VS_NAME:
		return d->map;
	case IEM_VS_UUID:
		return len == 16 ? d->map : IEM_NONE;
	default:
		break;
	}
	switch (d->type) {
	case IET_IPV4: return len == 4 ? d->map : IEM_NONE;
	case IET_IPV6: return len == 16 ? d->map : IEM_NONE;
	case IET_MAC: return len == 6 ? d->map : IEM_NONE;
	case IET_DATE_S: return len == 4 ? d->map : IEM_NONE;
	case IET_DATE_MS: case IET_DATE_US: case IET_DATE_NS:
		return len == 8 ? d->map : IEM_NONE;
	case IET_UNSIGNED: case IET_OCTETS:
		return len <= 8 ? d->map : IEM_NONE;
	default:
		return IEM_NONE;
	}
}

/* ---- accumulator ------------------------------------------------------- */

void ie_acc_init(struct ie_acc *a)
{
	memset(a, 0, sizeof(*a));
}

uint64_t ie_ntp_to_ms(uint64_t ntp)
{
	/* NTP era 0: seconds since 1900-01-01; 2208988800 s before the Unix
	 * epoch. Values before 1970 cannot be flow times: clamp to 0. */
	uint64_t sec = ntp >> 32, frac = ntp & 0xffffffffu;

	if (sec < 2208988800ull)
		return 0;
	return (sec - 2208988800ull) * 1000 + ((frac * 1000) >> 32);
}

/* Copies a string element without its trailing NULs into <dst>. */
static void set_str(char *dst, size_t cap, const uint8_t *v, uint16_t len)
{
	size_t n = len < cap - 1 ? len : cap - 1;

	memcpy(dst, v, n);
	dst[n] = '\0';
}

static void set_time(struct ie_times *t, bool end, uint64_t ms, uint8_t prec)
{
	/* several precisions of one time: the finest wins */
	if (end) {
		if (prec >= t->end_prec) {
			t->end_abs = ms;
			t->end_prec = prec;
		}
	} else if (prec >= t->start_prec) {
		t->start_abs = ms;
		t->start_prec = prec;
	}
}

static void apply_vs(struct ie_acc *a, uint8_t map, const uint8_t *v, uint16_t len)
{
	unsigned k = (unsigned)(map - IEM_VS_IFID);
	/* RFC 7011 §8: a repeated element; vtap's agent sends the observing
	 * VM first and the local peer VM second (docs/design.md). */
	struct vm_ident *vm = a->vs_seen[k] == 0 ? &a->f.vm : &a->f.peer;

	if (a->vs_seen[k] >= 2)
		return;
	a->vs_seen[k]++;
	switch (map) {
	case IEM_VS_IFID: vm->ifindex = (uint32_t)ie_be_uint(v, len); break;
	case IEM_VS_IFNAME: set_str(vm->ifname, sizeof(vm->ifname), v, len); break;
	case IEM_VS_UUID: memcpy(vm->uuid, v, 16); break;
	case IEM_VS_NAME: set_str(vm->name, sizeof(vm->name), v, len); break;
	default: break;
	}
}

#define ACC_AT(field) ((uint16_t)offsetof(struct ie_acc, field))

uint8_t ie_plan(uint8_t map, bool rev, uint16_t len, uint16_t *off)
{
	unsigned d = rev ? 1 : 0;

	/* what ie_apply() would do, where it is a plain store (times: an
	 * absolute time only when the template has no other of its kind);
	 * a map it ignores, and ie_apply's special cases (VLAN mask, delta
	 * and sub-millisecond times, virtual station, sampling), stay
	 * IEO_APPLY */
	if (map == IEM_NONE || map >= IEM__COUNT || (rev && !ie_reversible(map)) || len == 0 ||
	    len > 16)
		return IEO_APPLY;
	switch (map) {
	case IEM_BYTES: *off = ACC_AT(bytes[d]); return len <= 8 ? IEO_U64 : IEO_APPLY;
	case IEM_PACKETS: *off = ACC_AT(pkts[d]); return len <= 8 ? IEO_U64 : IEO_APPLY;
	case IEM_BYTES_TOTAL: *off = ACC_AT(bytes_total[d]); return len <= 8 ? IEO_U64 : IEO_APPLY;
	case IEM_PACKETS_TOTAL: *off = ACC_AT(pkts_total[d]); return len <= 8 ? IEO_U64 : IEO_APPLY;
	case IEM_BYTES_POST: *off = ACC_AT(bytes_post[d]); return len <= 8 ? IEO_U64 : IEO_APPLY;
	case IEM_PACKETS_POST: *off = ACC_AT(pkts_post[d]); return len <= 8 ? IEO_U64 : IEO_APPLY;
	case IEM_TOS: *off = ACC_AT(tos[d]); break;
	case IEM_TCP_FLAGS: *off = ACC_AT(tcp_flags[d]); break;
	/* times: as ie_apply() and set_time() do them; an absolute time
	 * only when the template has no other of its kind (the caller asks
	 * ie_abs_time_slot) */
	case IEM_START_S: *off = ACC_AT(t[d]); return len <= 8 ? IEO_T_START_S : IEO_APPLY;
	case IEM_END_S: *off = ACC_AT(t[d]); return len <= 8 ? IEO_T_END_S : IEO_APPLY;
	case IEM_START_MS: *off = ACC_AT(t[d]); return len <= 8 ? IEO_T_START_MS : IEO_APPLY;
	case IEM_END_MS: *off = ACC_AT(t[d]); return len <= 8 ? IEO_T_END_MS : IEO_APPLY;
	case IEM_START_SYSUP: case IEM_END_SYSUP:
		*off = ACC_AT(t[d]);
		if (len == 8)
			return map == IEM_START_SYSUP ? IEO_T_START_MS : IEO_T_END_MS;
		if (len <= 4)
			return map == IEM_START_SYSUP ? IEO_T_START_UP : IEO_T_END_UP;
		return IEO_APPLY;
	default:
		if (rev)
			return IEO_APPLY;   /* only the elements above are per direction */
		break;
	}
	switch (map) {
	case IEM_TOS: case IEM_TCP_FLAGS: return len <= 8 ? IEO_U8 : IEO_APPLY;
	case IEM_PROTO: *off = ACC_AT(f.proto); return len <= 8 ? IEO_U8 : IEO_APPLY;
	case IEM_SPORT: *off = ACC_AT(f.sport); return len <= 8 ? IEO_U16 : IEO_APPLY;
	case IEM_DPORT: *off = ACC_AT(f.dport); return len <= 8 ? IEO_U16 : IEO_APPLY;
	case IEM_SRC4: *off = ACC_AT(src4); return len == 4 ? IEO_COPY4 : IEO_APPLY;
	case IEM_DST4: *off = ACC_AT(dst4); return len == 4 ? IEO_COPY4 : IEO_APPLY;
	case IEM_NEXTHOP4: *off = ACC_AT(nh4); return len == 4 ? IEO_COPY4 : IEO_APPLY;
	case IEM_SRC6: *off = ACC_AT(src6); return len == 16 ? IEO_COPY16 : IEO_APPLY;
	case IEM_DST6: *off = ACC_AT(dst6); return len == 16 ? IEO_COPY16 : IEO_APPLY;
	case IEM_NEXTHOP6: *off = ACC_AT(nh6); return len == 16 ? IEO_COPY16 : IEO_APPLY;
	case IEM_SRC_MASK4: *off = ACC_AT(mask4[0]); return len <= 8 ? IEO_U8 : IEO_APPLY;
	case IEM_DST_MASK4: *off = ACC_AT(mask4[1]); return len <= 8 ? IEO_U8 : IEO_APPLY;
	case IEM_SRC_MASK6: *off = ACC_AT(mask6[0]); return len <= 8 ? IEO_U8 : IEO_APPLY;
	case IEM_DST_MASK6: *off = ACC_AT(mask6[1]); return len <= 8 ? IEO_U8 : IEO_APPLY;
	case IEM_IN_IF: *off = ACC_AT(f.in_if); return len <= 8 ? IEO_U32 : IEO_APPLY;
	case IEM_OUT_IF: *off = ACC_AT(f.out_if); return len <= 8 ? IEO_U32 : IEO_APPLY;
	case IEM_SRC_AS: *off = ACC_AT(f.src_as); return len <= 8 ? IEO_U32 : IEO_APPLY;
	case IEM_DST_AS: *off = ACC_AT(f.dst_as); return len <= 8 ? IEO_U32 : IEO_APPLY;
	case IEM_ICMP_TC: *off = ACC_AT(icmp_tc); return len <= 8 ? IEO_U16 : IEO_APPLY;
	case IEM_ICMP_TYPE: *off = ACC_AT(icmp_type); return len <= 8 ? IEO_U8 : IEO_APPLY;
	case IEM_ICMP_CODE: *off = ACC_AT(icmp_code); return len <= 8 ? IEO_U8 : IEO_APPLY;
	case IEM_SRC_MAC: *off = ACC_AT(f.src_mac); return len == 6 ? IEO_COPY6 : IEO_APPLY;
	case IEM_DST_MAC: *off = ACC_AT(f.dst_mac); return len == 6 ? IEO_COPY6 : IEO_APPLY;
	case IEM_SRC_MAC_POST: *off = ACC_AT(src_mac_post); return len == 6 ? IEO_COPY6 : IEO_APPLY;
	case IEM_DST_MAC_POST: *off = ACC_AT(dst_mac_post); return len == 6 ? IEO_COPY6 : IEO_APPLY;
	case IEM_IPVER: *off = ACC_AT(f.ipver); return len <= 8 ? IEO_U8 : IEO_APPLY;
	case IEM_DIRECTION: *off = ACC_AT(f.direction); return len <= 8 ? IEO_U8 : IEO_APPLY;
	case IEM_END_REASON: *off = ACC_AT(f.end_reason); return len <= 8 ? IEO_U8 : IEO_APPLY;
	case IEM_SYS_INIT_MS: *off = ACC_AT(sys_init_ms); return len <= 8 ? IEO_U64 : IEO_APPLY;
	default: return IEO_APPLY;
	}
}

int ie_abs_time_slot(uint8_t map, bool rev, uint16_t len)
{
	int end;

	switch (map) {
	case IEM_START_S: case IEM_START_MS: case IEM_START_US: case IEM_START_NS:
		end = 0;
		break;
	case IEM_END_S: case IEM_END_MS: case IEM_END_US: case IEM_END_NS:
		end = 1;
		break;
	case IEM_START_SYSUP: case IEM_END_SYSUP:
		if (len != 8)
			return -1;
		end = map == IEM_END_SYSUP;
		break;
	default:
		return -1;
	}
	return (rev ? 2 : 0) + end;
}

void ie_apply(struct ie_acc *a, uint8_t map, bool rev, const uint8_t *v, uint16_t len)
{
	unsigned d = rev ? 1 : 0;
	struct ie_times *t = &a->t[d];
	uint64_t x = 0;

	if (map == IEM_NONE || map >= IEM__COUNT)
		return;
	if (rev) {
		if (!ie_reversible(map))
			return;
		a->rhave[map >> 6] |= 1ull << (map & 63);
	} else {
		a->have[map >> 6] |= 1ull << (map & 63);
	}
	if (len <= 8)
		x = ie_be_uint(v, len);
	switch (map) {
	case IEM_BYTES: a->bytes[d] = x; break;
	case IEM_PACKETS: a->pkts[d] = x; break;
	case IEM_BYTES_TOTAL: a->bytes_total[d] = x; break;
	case IEM_PACKETS_TOTAL: a->pkts_total[d] = x; break;
	case IEM_BYTES_POST: a->bytes_post[d] = x; break;
	case IEM_PACKETS_POST: a->pkts_post[d] = x; break;
	case IEM_PROTO: a->f.proto = (uint8_t)x; break;
	case IEM_TOS: a->tos[d] = (uint8_t)x; break;
	/* IPFIX tcpControlBits is 2 bytes (with NS and the reserved bits);
	 * flow_rec keeps the classic 8 flags, the low byte */
	case IEM_TCP_FLAGS: a->tcp_flags[d] = (uint8_t)x; break;
	case IEM_SPORT: a->f.sport = (uint16_t)x; break;
	case IEM_DPORT: a->f.dport = (uint16_t)x; break;
	case IEM_SRC4: memcpy(a->src4, v, 4); break;
	case IEM_DST4: memcpy(a->dst4, v, 4); break;
	case IEM_NEXTHOP4: memcpy(a->nh4, v, 4); break;
	case IEM_SRC6: memcpy(a->src6, v, 16); break;
	case IEM_DST6: memcpy(a->dst6, v, 16); break;
	case IEM_NEXTHOP6: memcpy(a->nh6, v, 16); break;
	case IEM_SRC_MASK4: a->mask4[0] = (uint8_t)x; break;
	case IEM_DST_MASK4: a->mask4[1] = (uint8_t)x; break;
	case IEM_SRC_MASK6: a->mask6[0] = (uint8_t)x; break;
	case IEM_DST_MASK6: a->mask6[1] = (uint8_t)x; break;
	case IEM_IN_IF: a->f.in_if = (uint32_t)x; break;
	case IEM_OUT_IF: a->f.out_if = (uint32_t)x; break;
	case IEM_SRC_AS: a->f.src_as = (uint32_t)x; break;
	case IEM_DST_AS: a->f.dst_as = (uint32_t)x; break;
	case IEM_ICMP_TC: a->icmp_tc = (uint16_t)x; break;
	case IEM_ICMP_TYPE: a->icmp_type = (uint8_t)x; break;
	case IEM_ICMP_CODE: a->icmp_code = (uint8_t)x; break;
	case IEM_SRC_MAC: memcpy(a->f.src_mac, v, 6); break;
	case IEM_DST_MAC: memcpy(a->f.dst_mac, v, 6); break;
	case IEM_SRC_MAC_POST: memcpy(a->src_mac_post, v, 6); break;
	case IEM_DST_MAC_POST: memcpy(a->dst_mac_post, v, 6); break;
	case IEM_VLAN: a->f.vlan = (uint16_t)(x & 0xfff); break;
	case IEM_VLAN_DOT1Q: a->vlan_dot1q = (uint16_t)(x & 0xfff); break;
	case IEM_IPVER: a->f.ipver = (uint8_t)x; break;
	case IEM_DIRECTION: a->f.direction = (uint8_t)x; break;
	case IEM_END_REASON: a->f.end_reason = (uint8_t)x; break;
	case IEM_START_SYSUP: case IEM_END_SYSUP: {
		bool end = map == IEM_END_SYSUP;
		/* Some exporters send these as 8-byte absolute milliseconds
		 * since the epoch: treat them as flowStart/EndMilliseconds. */
		if (len == 8) {
			set_time(t, end, x, IE_PREC_MS);
		} else if (end) {
			t->end_up = (uint32_t)x;
			t->has_end_up = true;
		} else {
			t->start_up = (uint32_t)x;
			t->has_start_up = true;
		}
		break;
	}
	case IEM_START_S: set_time(t, false, x * 1000, IE_PREC_S); break;
	case IEM_END_S: set_time(t, true, x * 1000, IE_PREC_S); break;
	case IEM_START_MS: set_time(t, false, x, IE_PREC_MS); break;
	case IEM_END_MS: set_time(t, true, x, IE_PREC_MS); break;
	case IEM_START_US: set_time(t, false, ie_ntp_to_ms(x), IE_PREC_US); break;
	case IEM_END_US: set_time(t, true, ie_ntp_to_ms(x), IE_PREC_US); break;
	case IEM_START_NS: set_time(t, false, ie_ntp_to_ms(x), IE_PREC_NS); break;
	case IEM_END_NS: set_time(t, true, ie_ntp_to_ms(x), IE_PREC_NS); break;
	case IEM_START_DELTA_US: t->start_dus = x; t->has_start_dus = true; break;
	case IEM_END_DELTA_US: t->end_dus = x; t->has_end_dus = true; break;
	case IEM_SYS_INIT_MS: a->sys_init_ms = x; break;
	case IEM_VS_IFID: case IEM_VS_IFNAME: case IEM_VS_UUID: case IEM_VS_NAME:
		apply_vs(a, map, v, len);
		break;
	case IEM_SAMPLING_INTERVAL: a->samp_interval = x; break;
	case IEM_SAMPLER_RANDOM_INTERVAL: a->samp_random = x; break;
	case IEM_SAMPLER_ID: a->sampler_id = x; break;
	case IEM_SELECTOR_ID: a->selector_id = x; break;
	case IEM_SAMPLING_PKT_INTERVAL: a->samp_pkt_interval = x; break;
	case IEM_SAMPLING_PKT_SPACE: a->samp_pkt_space = x; break;
	case IEM_SAMPLING_SIZE: a->samp_size = x; break;
	case IEM_SAMPLING_POPULATION: a->samp_population = x; break;
	case IEM_SCOPE_IF: a->scope_if = (uint32_t)x; break;
	default: break;
	}
}

/* ---- finishing a record ------------------------------------------------ */

static uint64_t sub_sat(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* An uptime-relative time (NetFlow v5/v9 First/Last, sysUptime ms) as
 * absolute ms: export time - (sysUptime - value). The difference is taken
 * modulo 2^32 and read as signed, so an uptime that wrapped (49.7 days)
 * after the flow started still gives the right age, and a value a little
 * after sysUptime (exporters that stamp the header before the last
 * record) lands just after the export time instead of 2^32 ms before it.
 * Flow ages beyond 24.8 days cannot be told from that. */
static uint64_t uptime_abs(const struct ie_time_ctx *tc, uint32_t v)
{
	int32_t age = (int32_t)(tc->uptime_ms - v);

	if (age >= 0)
		return sub_sat(tc->export_ms, (uint64_t)age);
	return tc->export_ms + (uint64_t)(-(int64_t)age);
}

/* An IPFIX flowStart/EndSysUpTime as absolute ms: systemInitTime + value.
 * The value is 32-bit milliseconds: on an exporter up for more than 49.7
 * days it has wrapped (perhaps several times), so the wrap count is the one
 * that puts the time nearest the export time. */
static uint64_t sysinit_abs(uint64_t init, uint32_t v, uint64_t export_ms)
{
	uint64_t t = init + v;

	if (export_ms > t)
		t += ((export_ms - t + (1ull << 31)) >> 32) << 32;
	return t;
}

/* <s> and <e> as the start and end, swapped (FLOWREC_F_TIME_SWAPPED) if
 * the flow would end before it started. */
static uint8_t put_ordered(uint64_t s, uint64_t e, uint64_t *start, uint64_t *end)
{
	bool swap = e < s;

	*start = swap ? e : s;
	*end = swap ? s : e;
	return swap ? FLOWREC_F_TIME_SWAPPED : 0;
}

/* Resolves one direction's start/end to absolute ms (rules in
 * docs/wire/flow-decoding.md, "Timestamps"). Returns FLOWREC_F_* flags. */
static uint8_t resolve_times(const struct ie_times *t, uint64_t sys_init,
			     const struct ie_time_ctx *tc, uint64_t *start, uint64_t *end)
{
	uint64_t s = 0, e = 0;
	bool s_ok = false, e_ok = false, s_rel = false, e_rel = false;
	uint8_t flags = 0;

	/* both ends absolute (IPFIX's flowStart/EndMilliseconds): what the
	 * steps below conclude, without them */
	if (t->start_prec && t->start_abs && t->end_prec && t->end_abs)
		return put_ordered(t->start_abs, t->end_abs, start, end);
	if (!sys_init)
		sys_init = tc->sys_init_ms;
	/* uptime pairs of 0/0 are how some exporters say "no time" */
	bool up_zero = t->has_start_up && t->has_end_up && !t->start_up && !t->end_up;

	if (t->start_prec && t->start_abs) {
		s = t->start_abs;
		s_ok = true;
	} else if (t->has_start_dus) {
		s = sub_sat(tc->export_ms, t->start_dus / 1000);
		s_ok = true;
	} else if (t->has_start_up && !up_zero) {
		if (tc->has_uptime) {
			s = uptime_abs(tc, t->start_up);
			s_ok = true;
		} else if (sys_init) {
			s = sysinit_abs(sys_init, t->start_up, tc->export_ms);
			s_ok = true;
		} else {
			s_rel = true;
		}
	}
	if (t->end_prec && t->end_abs) {
		e = t->end_abs;
		e_ok = true;
	} else if (t->has_end_dus) {
		e = sub_sat(tc->export_ms, t->end_dus / 1000);
		e_ok = true;
	} else if (t->has_end_up && !up_zero) {
		if (tc->has_uptime) {
			e = uptime_abs(tc, t->end_up);
			e_ok = true;
		} else if (sys_init) {
			e = sysinit_abs(sys_init, t->end_up, tc->export_ms);
			e_ok = true;
		} else {
			e_rel = true;
		}
	}
	/* IPFIX flowStart/EndSysUpTime with no systemInitTimeMilliseconds:
	 * assume the flow ended when it was exported, keep its duration. */
	if (s_rel && e_rel) {
		/* the duration modulo 2^32 read as signed: an uptime that
		 * wrapped mid-flow is fine, an end before the start is a short
		 * swapped flow, not one of 49.7 days */
		int32_t d = (int32_t)(t->end_up - t->start_up);
		e = tc->export_ms;
		if (d >= 0) {
			s = sub_sat(e, (uint64_t)d);
		} else {
			s = sub_sat(e, (uint64_t)(-(int64_t)d));
			flags |= FLOWREC_F_TIME_SWAPPED;
		}
		s_ok = e_ok = true;
		flags |= FLOWREC_F_TIME_ESTIMATED;
	} else if (e_rel) {
		e = tc->export_ms;
		e_ok = true;
		flags |= FLOWREC_F_TIME_ESTIMATED;
	} else if (s_rel && e_ok) {
		s = e;
		s_ok = true;
		flags |= FLOWREC_F_TIME_ESTIMATED;
	}
	if (!s_ok && !e_ok) {
		s = e = tc->export_ms;
		flags |= FLOWREC_F_TIME_ESTIMATED;
	} else if (!s_ok) {
		s = e;
		flags |= FLOWREC_F_TIME_ESTIMATED;
	} else if (!e_ok) {
		e = s;
		flags |= FLOWREC_F_TIME_ESTIMATED;
	}
	return flags | put_ordered(s, e, start, end);
}

static bool has_bit(const uint64_t mask[2], unsigned m)
{
	return (bool)((mask[m >> 6] >> (m & 63)) & 1);
}

/* Byte/packet count of direction <d> with its fallbacks: delta, then
 * total, then post-* (docs: "Counters"). */
static void counters(const struct ie_acc *a, unsigned d, const uint64_t mask[2],
		     uint64_t *bytes, uint64_t *pkts)
{
	if (has_bit(mask, IEM_BYTES))
		*bytes = a->bytes[d];
	else if (has_bit(mask, IEM_BYTES_TOTAL))
		*bytes = a->bytes_total[d];
	else if (has_bit(mask, IEM_BYTES_POST))
		*bytes = a->bytes_post[d];
	else
		*bytes = 0;
	if (has_bit(mask, IEM_PACKETS))
		*pkts = a->pkts[d];
	else if (has_bit(mask, IEM_PACKETS_TOTAL))
		*pkts = a->pkts_total[d];
	else if (has_bit(mask, IEM_PACKETS_POST))
		*pkts = a->pkts_post[d];
	else
		*pkts = 0;
}

static void swap_u32(uint32_t *a, uint32_t *b)
{
	uint32_t x = *a;
	*a = *b;
	*b = x;
}

int ie_finish(struct ie_acc *a, const struct ie_time_ctx *tc, struct flow_rec *fwd,
	      struct flow_rec *rev)
{
	struct flow_rec *f = fwd;
	bool has4 = ie_has(a, IEM_SRC4) || ie_has(a, IEM_DST4);
	bool has6 = ie_has(a, IEM_SRC6) || ie_has(a, IEM_DST6);
	/* decisions read the accumulator, not the copy just written (a load
	 * from a wide store in flight waits for it) */
	uint8_t ipver = a->f.ipver, proto = a->f.proto;
	bool v6;

	*f = a->f;
	/* the IP version: ipVersion when it agrees with the addresses the
	 * record carries, else the family of the addresses present */
	if (ipver == 6 && has6)
		v6 = true;
	else if (ipver == 4 && has4)
		v6 = false;
	else
		v6 = has6 && !has4;
	if (has4 || has6)
		ipver = v6 ? 6 : 4;
	else if (ipver != 4 && ipver != 6)
		ipver = 0;
	f->ipver = ipver;
	if (v6) {
		addr_set_v6(&f->src, a->src6);
		addr_set_v6(&f->dst, a->dst6);
		f->src_mask = a->mask6[0];
		f->dst_mask = a->mask6[1];
	} else if (has4) {
		addr_set_v4(&f->src, a->src4);
		addr_set_v4(&f->dst, a->dst4);
		f->src_mask = a->mask4[0];
		f->dst_mask = a->mask4[1];
	} else {
		/* no address in the record: an IPv4 flow still holds IPv4
		 * (mapped) addresses, 0.0.0.0 */
		static const uint8_t zero4[4];
		if (ipver == 4) {
			addr_set_v4(&f->src, zero4);
			addr_set_v4(&f->dst, zero4);
		}
		f->src_mask = ipver == 6 ? a->mask6[0] : a->mask4[0];
		f->dst_mask = ipver == 6 ? a->mask6[1] : a->mask4[1];
	}
	if (ie_has(a, IEM_NEXTHOP6) && (v6 || !ie_has(a, IEM_NEXTHOP4)))
		addr_set_v6(&f->nexthop, a->nh6);
	else if (ie_has(a, IEM_NEXTHOP4))
		addr_set_v4(&f->nexthop, a->nh4);

	counters(a, 0, a->have, &f->bytes, &f->packets);
	f->tcp_flags = a->tcp_flags[0];
	f->tos = a->tos[0];
	if (!ie_has(a, IEM_SRC_MAC) && ie_has(a, IEM_SRC_MAC_POST))
		memcpy(f->src_mac, a->src_mac_post, 6);
	if (!ie_has(a, IEM_DST_MAC) && ie_has(a, IEM_DST_MAC_POST))
		memcpy(f->dst_mac, a->dst_mac_post, 6);
	if (!ie_has(a, IEM_VLAN) && ie_has(a, IEM_VLAN_DOT1Q))
		f->vlan = a->vlan_dot1q;
	/* ICMP type/code travel in dport (nfdump's convention); the ICMP
	 * elements count only for ICMP flows, since templates often carry
	 * them (as zero) for every protocol */
	if (proto == 1 || proto == 58) {
		if (ie_has(a, IEM_ICMP_TC)) {
			f->dport = a->icmp_tc;
			f->sport = 0;
		} else if (ie_has(a, IEM_ICMP_TYPE) || ie_has(a, IEM_ICMP_CODE)) {
			f->dport = (uint16_t)(a->icmp_type << 8 | a->icmp_code);
			f->sport = 0;
		}
	}
	if (!ie_has(a, IEM_DIRECTION))
		f->direction = FLOW_DIR_UNKNOWN;
	if (!ie_has(a, IEM_END_REASON))
		f->end_reason = FLOW_END_UNKNOWN;
	f->dec_flags |= resolve_times(&a->t[0], a->sys_init_ms, tc, &f->first_ms, &f->last_ms);

	/* RFC 5103 biflow: the reverse direction becomes a record of its own
	 * (key swapped), but only when it carried traffic */
	uint64_t rb, rp;
	counters(a, 1, a->rhave, &rb, &rp);
	if (!rb && !rp)
		return 1;
	struct flow_rec *r = rev;
	*r = *f;
	r->src = f->dst;
	r->dst = f->src;
	r->src_mask = f->dst_mask;
	r->dst_mask = f->src_mask;
	swap_u32(&r->src_as, &r->dst_as);
	swap_u32(&r->in_if, &r->out_if);
	memcpy(r->src_mac, f->dst_mac, 6);
	memcpy(r->dst_mac, f->src_mac, 6);
	if (f->proto != 1 && f->proto != 58) {
		r->sport = f->dport;
		r->dport = f->sport;
	}
	r->bytes = rb;
	r->packets = rp;
	r->tcp_flags = has_bit(a->rhave, IEM_TCP_FLAGS) ? a->tcp_flags[1] : 0;
	if (has_bit(a->rhave, IEM_TOS))
		r->tos = a->tos[1];
	if (f->direction == FLOW_DIR_INGRESS || f->direction == FLOW_DIR_EGRESS)
		r->direction = f->direction ^ 1;
	const struct ie_times *rt = &a->t[1];
	if (rt->start_prec || rt->end_prec || rt->has_start_up || rt->has_end_up ||
	    rt->has_start_dus || rt->has_end_dus) {
		r->dec_flags = 0;
		r->dec_flags |= resolve_times(rt, a->sys_init_ms, tc, &r->first_ms, &r->last_ms);
	}
	r->dec_flags |= FLOWREC_F_REVERSE;
	return 2;
}
