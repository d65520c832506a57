/* vn key-gen: writes a vnet key file locally; no daemon involved. */
#include <stdio.h>
#include <string.h>

#include "esp_key.h"
#include "vn_cmd.h"

int vn_keygen_run(struct vn_cli *cli, int argc, char **argv)
{
	int rc;

	(void)cli;
	(void)argc;
	rc = esp_key_generate(argv[1], false);
	if (rc < 0) {
		fprintf(stderr, "vn: key-gen: %s: %s\n", argv[1], strerror(-rc));
		/* Nothing was refused by a daemon; the file could not be made. */
		return VN_EXIT_REFUSED;
	}
	return VN_EXIT_OK;
}
