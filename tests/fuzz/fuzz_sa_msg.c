/* SA exchange codec: never crashes; whatever it accepts re-encodes to the
 * same bytes but the tag (so no field is silently ignored), and the
 * re-encoded packet verifies under the key it was tagged with while the
 * input verifies only if its tag was right. */
#include <stdint.h>
#include <string.h>

#include "sa_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct esp_tag *fuzz_tag(void)
{
	static struct esp_tag *t;
	uint8_t key[ESP_CTL_KEY_LEN];

	if (!t) {
		memset(key, 0x5a, sizeof(key));
		t = esp_tag_new(key); /* kept for the process: one per run */
	}
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct esp_tag *t = fuzz_tag();
	uint8_t out[SA_PKT_LEN];
	struct sa_msg m, again;

	if (!t || sa_msg_decode(data, size, &m) != SA_MSG_OK)
		return 0;
	if (sa_msg_encode(&m, t, out) != 0)
		__builtin_trap();
	if (memcmp(out, data, SA_PKT_LEN - ESP_TAG_LEN) != 0 || !sa_msg_verify(t, out))
		__builtin_trap();
	if (sa_msg_verify(t, data) != (memcmp(out, data, SA_PKT_LEN) == 0))
		__builtin_trap();
	if (sa_msg_decode(out, sizeof(out), &again) != SA_MSG_OK || again.op != m.op ||
	    again.spi != m.spi || again.seq != m.seq)
		__builtin_trap();
	return 0;
}
