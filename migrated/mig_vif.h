/*
 * A domain's network: one TAP per vif, made by migrated (which has
 * CAP_NET_ADMIN and knows the bridges), attached to the vif's bridge with
 * the bridge's MTU and up, and handed to the vmm as `--tap-fd N` in vif
 * order. The TAPs are not persistent: the kernel removes one when the last
 * fd (the vmm's) closes; mig_vif_remove deletes them anyway when the
 * domain's entry goes, so none outlives its domain.
 */
#ifndef TERN_MIG_VIF_H
#define TERN_MIG_VIF_H

#include <net/if.h>
#include <stddef.h>

#define MIG_VIF_MAX 4u /* TERN_NET_MAX, checked in mig_vif.c */

struct hv_domcfg;
struct mig_dom;

struct mig_vifs {
	unsigned n;			  /* TAPs made (names valid) */
	char name[MIG_VIF_MAX][IFNAMSIZ]; /* "tern<domid>v<i>" */
	int fd[MIG_VIF_MAX];		  /* ours until the vmm is spawned; -1 after */
	char arg[MIG_VIF_MAX][12];	  /* the "--tap-fd" numbers */
};

/* Makes the TAPs of cfg's vifs for domain d (a vif without a bridge gets
 * an unattached TAP). 0, or -errno with err naming the vif, bridge and
 * cause; on error the TAPs made so far are removed. */
int mig_vif_open(struct mig_dom *d, const struct hv_domcfg *cfg, char *err, size_t errlen);
/* Same from a config text (an OFFER's, a save file's), which also becomes
 * the domain's config file (a later migration offers it, vifs included). */
int mig_vif_open_text(struct mig_dom *d, const char *text, char *err, size_t errlen);
/* Same from the HEADER of a save file. */
int mig_vif_open_save(struct mig_dom *d, const char *path, char *err, size_t errlen);
/* dom_spawn with the TAP fds after `fds` and a `--tap-fd N` per TAP after
 * args; closes our copies of the TAP fds whatever happens. */
int mig_vif_spawn(struct mig_dom *d, const char *const *args, const int *fds, unsigned nfds);
/* Closes the fds still held and deletes the TAPs (gone already: fine). */
void mig_vif_remove(struct mig_dom *d);

#endif
