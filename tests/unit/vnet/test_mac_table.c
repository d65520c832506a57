/* mac_table: put/replace/lookup/delete, expiry, quota and eviction, flush,
 * iteration. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mac_table.h"

static struct vnet_id vid(uint16_t n)
{
	struct vnet_id id;
	vnet_id_from_short(&id, n);
	return id;
}

static struct vnet_addr coa(const char *s)
{
	struct vnet_addr a;
	assert_int_equal(vnet_addr_parse(s, &a), 0);
	return a;
}

static const uint8_t mac1[6] = {0x52, 0x54, 0, 0, 0, 1};
static const uint8_t mac2[6] = {0x52, 0x54, 0, 0, 0, 2};

static void test_put_get(void **state)
{
	struct mac_table *t = mac_table_new(16);
	struct vnet_id v97 = vid(0x97), v98 = vid(0x98);
	struct vnet_addr a = coa("10.0.0.1"), b = coa("10.0.0.2");
	const struct mac_entry *e;
	(void)state;

	assert_non_null(t);
	assert_null(mac_table_get(t, &v97, mac1, 0));
	assert_int_equal(mac_table_put(t, &v97, mac1, &a, MAC_TABLE_REMOTE, 1000, 0), 1);
	e = mac_table_get(t, &v97, mac1, 0);
	assert_non_null(e);
	assert_true(vnet_addr_eq(&e->coa, &a));
	assert_int_equal(e->flags, MAC_TABLE_REMOTE);
	assert_int_equal(e->expires_ms, 1000);
	/* Same MAC on another vnet is another entry. */
	assert_null(mac_table_get(t, &v98, mac1, 0));
	assert_null(mac_table_get(t, &v97, mac2, 0));
	/* Refresh only: 0. */
	assert_int_equal(mac_table_put(t, &v97, mac1, &a, MAC_TABLE_REMOTE, 2000, 10), 0);
	assert_int_equal(mac_table_get(t, &v97, mac1, 10)->expires_ms, 2000);
	/* An announce moves it at once: 1. */
	assert_int_equal(mac_table_put(t, &v97, mac1, &b, MAC_TABLE_REMOTE, 3000, 20), 1);
	assert_true(vnet_addr_eq(&mac_table_get(t, &v97, mac1, 20)->coa, &b));
	/* It migrated here: local now. */
	assert_int_equal(mac_table_put(t, &v97, mac1, &a, MAC_TABLE_LOCAL, MAC_TABLE_NEVER, 30), 1);
	assert_int_equal(mac_table_get(t, &v97, mac1, UINT64_MAX - 1)->flags, MAC_TABLE_LOCAL);
	assert_int_equal(mac_table_count(t), 1);
	assert_int_equal(mac_table_put(t, &v97, mac1, &a, 0, 1, 0), -EINVAL);
	assert_int_equal(mac_table_put(t, &v97, mac1, &a, MAC_TABLE_LOCAL | MAC_TABLE_REMOTE, 1, 0),
			 -EINVAL);
	assert_int_equal(mac_table_del(t, &v97, mac1), 0);
	assert_int_equal(mac_table_del(t, &v97, mac1), -ENOENT);
	assert_int_equal(mac_table_count(t), 0);
	mac_table_free(t);
	mac_table_free(NULL);
}

static void test_expiry(void **state)
{
	struct mac_table *t = mac_table_new(4);
	struct vnet_id v = vid(2);
	struct vnet_addr a = coa("fd00::1");
	(void)state;

	assert_int_equal(mac_table_put(t, &v, mac1, &a, MAC_TABLE_REMOTE, 100, 0), 1);
	assert_int_equal(mac_table_put(t, &v, mac2, &a, MAC_TABLE_REMOTE, 200, 0), 1);
	assert_non_null(mac_table_get(t, &v, mac1, 99));
	assert_null(mac_table_get(t, &v, mac1, 100));
	/* An expired entry being put again counts as new. */
	assert_int_equal(mac_table_put(t, &v, mac1, &a, MAC_TABLE_REMOTE, 300, 150), 1);
	assert_int_equal(mac_table_age(t, 250), 1); /* mac2 */
	assert_int_equal(mac_table_count(t), 1);
	assert_null(mac_table_get(t, &v, mac2, 0));
	assert_int_equal(mac_table_age(t, 250), 0);
	mac_table_free(t);
}

/* Ageing returns early while nothing is due (a lower bound on the earliest
 * expiry); each step here checks that it still removes exactly the expired
 * entries, also after the earliest one was refreshed to a later time (the
 * bound is then too low) and after a put lowered it again. */
static void test_age_bound(void **state)
{
	static const struct {
		uint8_t mac; /* last byte of the MAC to put; 0: age at `at` */
		uint64_t at; /* put: the new expiry */
		size_t want; /* age: entries removed */
		/* after the step: entries held */
		size_t count;
	} steps[] = {
	    {0, 0, 0, 0}, /* empty */
	    {1, 100, 0, 1},
	    {2, 200, 0, 2},
	    {3, MAC_TABLE_NEVER, 0, 3},
	    {0, 99, 0, 3},  /* before the first expiry */
	    {1, 300, 0, 3}, /* bound stays 100 */
	    {0, 150, 0, 3}, /* scans, finds nothing, bound now 200 */
	    {0, 199, 0, 3},
	    {0, 200, 1, 2}, /* expires_ms <= now is expired */
	    {0, 299, 0, 2},
	    {4, 250, 0, 3}, /* lowers the bound */
	    {0, 249, 0, 3},
	    {0, 250, 1, 2},
	    {0, 1000, 1, 1},	       /* the refreshed one */
	    {0, UINT64_MAX - 1, 0, 1}, /* NEVER stays */
	};
	struct mac_table *t = mac_table_new(65536);
	struct vnet_id v = vid(7);
	struct vnet_addr a = coa("10.0.0.3");
	(void)state;

	assert_non_null(t);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		uint8_t mac[6] = {2, 0, 0, 0, 0, steps[i].mac};

		if (steps[i].mac)
			assert_true(
			    mac_table_put(t, &v, mac, &a, MAC_TABLE_REMOTE, steps[i].at, 0) >= 0);
		else
			assert_int_equal(mac_table_age(t, steps[i].at), steps[i].want);
		assert_int_equal(mac_table_count(t), steps[i].count);
	}
	mac_table_free(t);
}

/* Many entries with scattered expiries, refreshes and deletions, checked
 * against a model after every age call: exactly the entries whose expiry
 * is <= now go, every other one stays. */
#define MODEL_N 3000
static void test_age_model(void **state)
{
	static uint64_t exp_ms[MODEL_N]; /* 0: absent */
	struct mac_table *t = mac_table_new(4096);
	struct vnet_id v = vid(9);
	struct vnet_addr a = coa("10.0.0.4");
	uint8_t mac[6] = {2, 0, 0, 0, 0, 0};
	uint32_t rnd = 12345;
	uint64_t now = 0;
	(void)state;

	assert_non_null(t);
	memset(exp_ms, 0, sizeof(exp_ms));
	for (int round = 0; round < 40; round++) {
		size_t due = 0, left = 0;

		for (unsigned k = 0; k < 200; k++) {
			unsigned i;

			rnd = rnd * 1103515245u + 12345u;
			i = (rnd >> 8) % MODEL_N;
			mac[4] = (uint8_t)(i >> 8);
			mac[5] = (uint8_t)i;
			if (k % 10 == 9) {
				assert_int_equal(mac_table_del(t, &v, mac),
						 exp_ms[i] ? 0 : -ENOENT);
				exp_ms[i] = 0;
				continue;
			}
			exp_ms[i] =
			    (rnd >> 20) % 16 == 0 ? MAC_TABLE_NEVER : now + 1 + (rnd >> 4) % 500;
			assert_true(
			    mac_table_put(t, &v, mac, &a, MAC_TABLE_REMOTE, exp_ms[i], now) >= 0);
		}
		now += 1 + (rnd >> 12) % 200;
		for (unsigned i = 0; i < MODEL_N; i++) {
			if (exp_ms[i] && exp_ms[i] != MAC_TABLE_NEVER && exp_ms[i] <= now) {
				exp_ms[i] = 0;
				due++;
			}
			left += exp_ms[i] != 0;
		}
		assert_int_equal(mac_table_age(t, now), due);
		assert_int_equal(mac_table_count(t), left);
		for (unsigned i = 0; i < MODEL_N; i++) {
			mac[4] = (uint8_t)(i >> 8);
			mac[5] = (uint8_t)i;
			/* now 0: present at all, expired or not */
			assert_true((mac_table_get(t, &v, mac, 0) != NULL) == (exp_ms[i] != 0));
		}
	}
	mac_table_free(t);
}

/* Quotas and eviction, one script per case on a table of `quota` entries.
 * Steps, separated by spaces: rN puts MAC N as remote at 10.0.0.1, mN as
 * remote at 10.0.0.2 (a move: still a confirmation), lN as local, eN as
 * remote expiring at 5 ms, tN sets the clock to N ms, dN deletes MAC N; a
 * trailing '!' means the put must be refused with -ENOSPC, otherwise it must
 * succeed. `held` lists what the table holds at the end ('l' local, 'r'
 * remote), in MAC order. */
static const struct quota_case {
	const char *name;
	size_t quota;
	const char *steps;
	const char *held;
	uint64_t evicted, refused;
} quota_cases[] = {
    {"quota reached", 4, "r1 r2 r3 r4", "r1 r2 r3 r4", 0, 0},
    {"remote evicts oldest remote", 4, "r1 r2 r3 r4 r5 r6", "r3 r4 r5 r6", 2, 0},
    {"local evicts oldest remote", 4, "r1 r2 r3 r4 l5", "r2 r3 r4 l5", 1, 0},
    {"local evicts remote, never local", 4, "l1 r2 l3 r4 l5 l6", "l1 l3 l5 l6", 2, 0},
    {"all local refuses local", 4, "l1 l2 l3 l4 l5!", "l1 l2 l3 l4", 0, 1},
    {"all local refuses remote", 4, "l1 l2 l3 l4 r5! r6! l7!", "l1 l2 l3 l4", 0, 3},
    {"refresh of a held local entry is no insert", 2, "l1 l2 l1 l2", "l1 l2", 0, 0},
    {"order is by last confirmation", 4, "r1 r2 r3 r4 r1 r5", "r1 r3 r4 r5", 1, 0},
    {"a move confirms", 4, "r1 r2 r3 r4 m1 m2 r5 r6", "m1 m2 r5 r6", 2, 0},
    {"local then remote again is newest", 3, "r1 r2 l1 r3 r1 r4", "r1 r3 r4", 1, 0},
    {"remote turned local is not evicted", 3, "r1 r2 r3 l1 r4 r5 r6", "l1 r5 r6", 3, 0},
    {"expired oldest is reclaimed, not counted", 3, "e1 r2 r3 t5 r4", "r2 r3 r4", 0, 0},
    {"live oldest is evicted even if a newer one expired", 3, "r1 e2 r3 t5 r4", "e2 r3 r4", 1, 0},
    {"deleted entries free room", 3, "l1 l2 l3 d2 l4 l5!", "l1 l3 l4", 0, 1},
    {"quota of one", 1, "r1 r2 l3 r4! l5!", "l3", 2, 2},
};

static void quota_run(const struct quota_case *c)
{
	struct mac_table *t = mac_table_new(c->quota);
	struct vnet_id v = vid(0x97);
	struct vnet_addr a1 = coa("10.0.0.1"), a2 = coa("10.0.0.2");
	struct mac_table_stats st;
	char held[128] = "";
	uint64_t now = 0;
	uint8_t mac[6] = {2, 0, 0, 0, 0, 0};
	const char *p = c->steps;

	assert_non_null(t);
	while (*p) {
		char op = *p++;
		unsigned long n = strtoul(p, (char **)&p, 10);
		bool refuse = *p == '!';
		int rc = 0;

		p += refuse;
		p += *p == ' ';
		mac[5] = (uint8_t)n;
		if (op == 't')
			now = n;
		else if (op == 'd')
			assert_int_equal(mac_table_del(t, &v, mac), 0);
		else
			rc = mac_table_put(t, &v, mac, op == 'm' ? &a2 : &a1,
					   op == 'l' ? MAC_TABLE_LOCAL : MAC_TABLE_REMOTE,
					   op == 'e' ? 5 : MAC_TABLE_NEVER, now);
		if (refuse || rc < 0)
			print_message("%s: step %c%lu: %d\n", c->name, op, n, rc);
		assert_true(refuse ? rc == -ENOSPC : rc >= 0);
		mac_table_stats(t, &st);
		assert_true(st.count <= c->quota);
	}
	for (unsigned i = 0; i < 256; i++) {
		const struct mac_entry *e;
		mac[5] = (uint8_t)i;
		e = mac_table_get(t, &v, mac, 0); /* at 0: expired ones too */
		if (!e)
			continue;
		snprintf(held + strlen(held), sizeof(held) - strlen(held), "%s%c%u",
			 *held ? " " : "",
			 e->flags == MAC_TABLE_LOCAL	    ? 'l'
			 : vnet_addr_eq(&e->coa, &a2)	    ? 'm'
			 : e->expires_ms != MAC_TABLE_NEVER ? 'e'
							    : 'r',
			 i);
	}
	mac_table_stats(t, &st);
	if (strcmp(held, c->held) || st.evicted != c->evicted || st.refused != c->refused)
		print_message("%s: held '%s' evicted %lu refused %lu\n", c->name, held,
			      (unsigned long)st.evicted, (unsigned long)st.refused);
	assert_string_equal(held, c->held);
	assert_int_equal(st.evicted, c->evicted);
	assert_int_equal(st.refused, c->refused);
	assert_int_equal(st.max, c->quota);
	mac_table_free(t);
}

static void test_quota(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(quota_cases) / sizeof(quota_cases[0]); i++)
		quota_run(&quota_cases[i]);
}

/* vnetd gives each vnet its own table: a flood of new MACs on one (remote
 * and local, far past its quota) changes nothing on another. */
static void test_other_vnet(void **state)
{
	struct vnet_id v97 = vid(0x97), v98 = vid(0x98);
	struct mac_table *t97 = mac_table_new(64), *t98 = mac_table_new(64);
	struct vnet_addr a = coa("10.0.0.1");
	struct mac_table_stats s97, s98;
	uint8_t mac[6] = {2, 0, 0, 0, 0, 0};
	(void)state;

	for (unsigned i = 0; i < 8; i++) {
		mac[5] = (uint8_t)i;
		assert_int_equal(mac_table_put(t98, &v98, mac, &a,
					       i % 2 ? MAC_TABLE_LOCAL : MAC_TABLE_REMOTE,
					       MAC_TABLE_NEVER, 0),
				 1);
	}
	for (unsigned i = 0; i < 70000; i++) {
		mac[3] = (uint8_t)(i >> 16);
		mac[4] = (uint8_t)(i >> 8);
		mac[5] = (uint8_t)i;
		(void)mac_table_put(t97, &v97, mac, &a, i % 3 ? MAC_TABLE_REMOTE : MAC_TABLE_LOCAL,
				    MAC_TABLE_NEVER, 0);
	}
	mac_table_stats(t97, &s97);
	mac_table_stats(t98, &s98);
	assert_int_equal(s97.count, 64);
	assert_int_equal(s97.local, 64);
	assert_true(s97.evicted > 0 && s97.refused > 0);
	assert_int_equal(s98.count, 8);
	assert_int_equal(s98.local, 4);
	assert_int_equal(s98.evicted, 0);
	assert_int_equal(s98.refused, 0);
	mac[3] = mac[4] = 0;
	for (unsigned i = 0; i < 8; i++) {
		mac[5] = (uint8_t)i;
		assert_non_null(mac_table_get(t98, &v98, mac, 0));
	}
	mac_table_free(t97);
	mac_table_free(t98);
}

/* Eviction costs no scan: a large full table takes a million new remote
 * entries quickly (a scan per insert would be 2^16 times slower). */
static void test_evict_cost(void **state)
{
	struct mac_table *t = mac_table_new(65536);
	struct vnet_id v = vid(0x97);
	struct vnet_addr a = coa("10.0.0.1");
	struct mac_table_stats st;
	uint8_t mac[6] = {2, 0, 0, 0, 0, 0};
	(void)state;

	for (unsigned i = 0; i < 1000000; i++) {
		mac[3] = (uint8_t)(i >> 16);
		mac[4] = (uint8_t)(i >> 8);
		mac[5] = (uint8_t)i;
		assert_int_equal(
		    mac_table_put(t, &v, mac, &a, MAC_TABLE_REMOTE, 1000000 + i, i / 1000), 1);
	}
	mac_table_stats(t, &st);
	assert_int_equal(st.count, 65536);
	assert_int_equal(st.evicted, 1000000 - 65536);
	mac_table_free(t);
}

static void test_bad_size(void **state)
{
	(void)state;
	errno = 0;
	assert_null(mac_table_new(0));
	assert_int_equal(errno, EINVAL);
}

static int count_vnet(const struct mac_entry *e, void *arg)
{
	const struct vnet_id *want = ((const struct vnet_id **)arg)[0];
	size_t *n = ((size_t **)arg)[1];
	if (vnet_id_eq(&e->vnet, want))
		(*n)++;
	return 0;
}

static int stop_at_third(const struct mac_entry *e, void *arg)
{
	(void)e;
	return ++*(int *)arg == 3 ? 77 : 0;
}

static void test_many_flush_foreach(void **state)
{
	struct mac_table *t = mac_table_new(5000);
	struct vnet_id v2 = vid(2), v3 = vid(3);
	struct vnet_addr a = coa("10.0.0.9");
	uint8_t mac[6] = {2, 0, 0, 0, 0, 0};
	size_t n = 0;
	int calls = 0;
	(void)state;

	for (unsigned i = 0; i < 4000; i++) {
		mac[4] = (uint8_t)(i >> 8);
		mac[5] = (uint8_t)i;
		assert_int_equal(mac_table_put(t, i % 2 ? &v3 : &v2, mac, &a,
					       i % 4 ? MAC_TABLE_REMOTE : MAC_TABLE_LOCAL,
					       MAC_TABLE_NEVER, 0),
				 1);
	}
	for (unsigned i = 0; i < 4000; i++) {
		mac[4] = (uint8_t)(i >> 8);
		mac[5] = (uint8_t)i;
		assert_non_null(mac_table_get(t, i % 2 ? &v3 : &v2, mac, 0));
		assert_null(mac_table_get(t, i % 2 ? &v2 : &v3, mac, 0));
	}
	const void *args[2] = {&v2, &n};
	assert_int_equal(mac_table_foreach(t, count_vnet, args), 0);
	assert_int_equal(n, 2000);
	assert_int_equal(mac_table_foreach(t, stop_at_third, &calls), 77);
	assert_int_equal(calls, 3);
	/* v2 holds 1000 local (i % 4 == 0) and 1000 remote entries. */
	assert_int_equal(mac_table_flush(t, &v2, MAC_TABLE_REMOTE), 1000);
	assert_int_equal(mac_table_flush(t, &v2, 0), 1000);
	assert_int_equal(mac_table_count(t), 2000);
	assert_int_equal(mac_table_flush(t, NULL, 0), 2000);
	assert_int_equal(mac_table_count(t), 0);
	mac_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_put_get),
	    cmocka_unit_test(test_expiry),
	    cmocka_unit_test(test_age_bound),
	    cmocka_unit_test(test_age_model),
	    cmocka_unit_test(test_quota),
	    cmocka_unit_test(test_other_vnet),
	    cmocka_unit_test(test_evict_cost),
	    cmocka_unit_test(test_bad_size),
	    cmocka_unit_test(test_many_flush_foreach),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
