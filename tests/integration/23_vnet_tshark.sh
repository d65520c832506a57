#!/usr/bin/env bash
# Interop with an independent ESP implementation: Wireshark. Two hosts ping
# over vnet 97 with each ESP suite; the underlay capture is decoded by
# tshark with the SA keys that `vn sa-list --keys --json` reveals, written
# to a Wireshark esp_sa UAT file in a throwaway HOME. tshark must find the
# inner Ethernet frame (ESP next header 143) carrying exactly the ICMP echo
# requests and replies we sent, with our payload pattern, from and to the
# vnet bridges' MACs, every ICV (HMAC or GCM tag) verified good; with one
# key digit changed it must find none of them.
#
#  tvPID-h1                          tvPID-h2
#  vnet97 10.97.0.1/24               vnet97 10.97.0.2/24
#   `- vnif97 (vnetd)                 `- vnif97 (vnetd)
#  eth0 10.0.1.1 --- ul1 (bridge) --- eth0 10.0.1.2
#                    tcpdump -> tshark -d udp.port==1798,udpencap
set -eu
. "$(dirname "$0")/lib/topo.sh"
topo_require tcpdump tshark
topo_init

PAT=5a17c3e29b4d06f18e2b7c39d04a615f
for n in 1 2; do
	topo_host "$n" 1
	topo_vnetd_start "$n"
done
KEY=$TOPO_DIR/vnet97.key
topo_key "$KEY"
export HOME=$TOPO_DIR/home # tshark reads the UAT from here, nothing else
mkdir -p "$HOME/.config/wireshark"

# Wireshark's names for our suites: encryption and authentication (GCM
# carries its own tag, so its authentication is NULL).
ws_enc() {
	case $1 in
	aes128-gcm) echo "AES-GCM with 16 octet ICV [RFC4106]" ;;
	aes128-cbc-sha1) echo "AES-CBC [RFC3602]" ;;
	null-*) echo "NULL" ;;
	esac
}
ws_auth() {
	case $1 in
	aes128-gcm) echo "NULL" ;;
	*-sha1) echo "HMAC-SHA-1-96 [RFC2404]" ;;
	null-sha256) echo "HMAC-SHA-256-128 [RFC4868]" ;;
	esac
}

# write_uat SUITE: one esp_sa record per outbound SA of each host. The
# destination is a wildcard: a sender's SA serves multicast and unicast.
write_uat() {
	local n enc auth
	enc=$(ws_enc "$1")
	auth=$(ws_auth "$1")
	: >"$HOME/.config/wireshark/esp_sa"
	for n in 1 2; do
		topo_vn "$n" --json sa-list --keys | jq -r --arg e "$enc" --arg a "$auth" '
			.[] | select(.dir == "out") |
			"\"IPv4\",\"\(.src)\",\"*\",\"\(.spi)\",\"\($e)\",\"" +
			(if .enc_key == "" then "" else "0x" + .enc_key end) +
			"\",\"\($a)\",\"" +
			(if .auth_key == "" then "" else "0x" + .auth_key end) + "\""
		' >>"$HOME/.config/wireshark/esp_sa"
	done
	[ -s "$HOME/.config/wireshark/esp_sa" ] || topo_fail "$1: sa-list shows no outbound SA"
}

mac_of() { topo_exec "h$1" cat /sys/class/net/vnet97/address; }

# count_decoded SUITE PCAP: sets DECODED to "REQUESTS REPLIES", the ICMP
# echoes tshark decrypted inside ESP next header 143, from h1's to h2's
# bridge MAC (and back), carrying PAT, with a good ICV. The inner frame's
# MACs are the last of eth.src/eth.dst (the outer frame comes first).
count_decoded() {
	local out m1 m2 req rep
	out=$(tshark -n -r "$2" -d udp.port==1798,udpencap \
		-o esp.enable_encryption_decode:TRUE \
		-o esp.enable_authentication_check:TRUE \
		-Y "esp.protocol == 143 && icmp && data.data contains $PAT" \
		-T fields -E separator=' ' -e icmp.type -e eth.src -e eth.dst \
		-e esp.icv_good 2>"$TOPO_DIR/tshark.err") ||
		topo_fail "$1: tshark failed: $(cat "$TOPO_DIR/tshark.err")"
	m1=$(mac_of 1)
	m2=$(mac_of 2)
	req=$(echo "$out" | awk -v s="$m1" -v d="$m2" \
		'$1 == 8 && $2 ~ ("," s "$") && $3 ~ ("," d "$") && $4 == 1' | wc -l)
	rep=$(echo "$out" | awk -v s="$m2" -v d="$m1" \
		'$1 == 0 && $2 ~ ("," s "$") && $3 ~ ("," d "$") && $4 == 1' | wc -l)
	DECODED="$req $rep"
}

for suite in aes128-gcm aes128-cbc-sha1 null-sha1 null-sha256; do
	case $suite in aes128-*) lvl=conf ;; *) lvl=auth ;; esac
	topo_log "suite $suite (security $lvl)"
	f=$TOPO_DIR/vnet97-$suite.sxp
	topo_vnet_file "$f" 97 "$lvl" "$KEY" "$suite"
	for n in 1 2; do
		topo_vn "$n" vnet-create "$f"
		topo_vnet_addr "$n" 97
	done
	topo_wait_ping h1 10.97.0.2 10 || topo_fail "$suite: h1 cannot ping 10.97.0.2"
	topo_wait_ping h2 10.97.0.1 10 || topo_fail "$suite: h2 cannot ping 10.97.0.1"
	pcap=$TOPO_DIR/$suite.pcap
	topo_capture ul ul1 "$pcap" udp port 1798
	got=$(topo_ping_count h1 10.97.0.2 3 -p "$PAT")
	[ "$got" = 3 ] || topo_fail "$suite: $got of 3 replies"
	sleep 0.2 # let tcpdump write the last reply
	topo_capture_stop "$TOPO_CAPTURE_PID"
	write_uat "$suite"

	count_decoded "$suite" "$pcap"
	[ "$DECODED" = "3 3" ] ||
		topo_fail "$suite: tshark decoded $DECODED echo requests h1->h2 and replies, want 3 3"
	# Negative control: one wrong key digit and tshark finds nothing.
	awk -F'"' -v OFS='"' '{ f = ($12 != "" ? 12 : 16)
		d = (substr($f, 3, 1) == "0" ? "1" : "0")
		$f = "0x" d substr($f, 4) } 1' "$HOME/.config/wireshark/esp_sa" >"$HOME/uat.bad"
	mv "$HOME/uat.bad" "$HOME/.config/wireshark/esp_sa"
	count_decoded "$suite" "$pcap"
	[ "$DECODED" = "0 0" ] || topo_fail "$suite: tshark still decoded $DECODED with a wrong key"
	echo "$suite: tshark decrypted 3 echo requests and 3 replies inside ESP (next header 143)"
	for n in 1 2; do
		topo_vn "$n" vnet-delete 97
	done
done
echo "PASS: 23_vnet_tshark"
