/* Unit tests: lib/core/fileio — whole files read with their bound, the
 * errors that name the path, standard input only where allowed; files
 * written whole (replaced, their mode, nothing left behind on failure). */
#include "core/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include "vt_test.h"

static char dir[64];

static void put(const char *name, const char *text)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void t_files(void)
{
	static const struct {
		const char *name;          /* under dir; NULL: dir itself */
		size_t max;
		int r;
		const char *want;          /* contents, or the error's tail */
	} cases[] = {
		{ "ten", 10, 0, "0123456789" },               /* exactly the bound */
		{ "ten", 9, -EFBIG, "larger than 9 bytes" },
		{ "empty", 10, 0, "" },
		{ "missing", 10, -ENOENT, "No such file or directory" },
		{ NULL, 10, -EINVAL, "not a regular file" },
		{ "-", 10, -ENOENT, "No such file or directory" },   /* not stdin here */
	};

	snprintf(dir, sizeof(dir), "/tmp/vt-fileio-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	put("ten", "0123456789");
	put("empty", "");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char p[128];
		struct vbuf b;
		struct vt_err err = { 0 };
		int r;

		if (cases[i].name && strcmp(cases[i].name, "-") == 0)
			snprintf(p, sizeof(p), "-");
		else if (cases[i].name)
			snprintf(p, sizeof(p), "%s/%s", dir, cases[i].name);
		else
			snprintf(p, sizeof(p), "%s", dir);
		vt_test_case = p;
		r = file_read_all(p, cases[i].max, false, &b, &err);
		CHECK_EQ(r, cases[i].r);
		if (r == 0) {
			CHECK_EQ(b.len, strlen(cases[i].want));
			CHECK_STR(vbuf_str(&b), cases[i].want);
		} else {
			CHECK(strncmp(err.msg, p, strlen(p)) == 0);   /* names the path */
			CHECK_CONTAINS(err.msg, cases[i].want);
		}
		vbuf_free(&b);
	}
	{
		char p[128];
		snprintf(p, sizeof(p), "%s/ten", dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/empty", dir);
		unlink(p);
	}
	rmdir(dir);
}

/* "-" reads standard input to its end, with the same bound. */
static void t_stdin(void)
{
	static const struct {
		const char *text;
		size_t max;
		int r;
	} cases[] = {
		{ "{\"a\":1}\n", 64, 0 },
		{ "0123456789", 10, 0 },
		{ "0123456789x", 10, -EFBIG },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int pfd[2], saved = dup(STDIN_FILENO);
		struct vbuf b;
		struct vt_err err = { 0 };
		int r;

		vt_test_case = cases[i].text;
		CHECK_EQ(pipe(pfd), 0);
		CHECK_EQ(write(pfd[1], cases[i].text, strlen(cases[i].text)),
			 (ssize_t)strlen(cases[i].text));
		close(pfd[1]);
		dup2(pfd[0], STDIN_FILENO);
		close(pfd[0]);
		r = file_read_all("-", cases[i].max, true, &b, &err);
		dup2(saved, STDIN_FILENO);
		close(saved);
		CHECK_EQ(r, cases[i].r);
		if (r == 0)
			CHECK_STR(vbuf_str(&b), cases[i].text);
		else
			CHECK_STR(err.msg, "standard input: larger than 10 bytes");
		vbuf_free(&b);
	}
}

static size_t entries(const char *d)
{
	DIR *dh = opendir(d);
	struct dirent *e;
	size_t n = 0;

	CHECK(dh != NULL);
	while (dh && (e = readdir(dh)))
		n += e->d_name[0] != '.';
	if (dh)
		closedir(dh);
	return n;
}

static void t_write_atomic(void)
{
	char p[128], q[160];
	struct vbuf b;
	struct vt_err err = { 0 };
	struct stat sb;

	snprintf(dir, sizeof(dir), "/tmp/vt-fileio-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(p, sizeof(p), "%s/state", dir);
	CHECK_EQ(file_write_atomic(p, "first", 5, 0600, &err), 0);
	CHECK_EQ(file_write_atomic(p, "second!", 7, 0644, &err), 0);   /* replaced */
	CHECK_EQ(file_read_all(p, 100, false, &b, &err), 0);
	CHECK_STR(vbuf_str(&b), "second!");
	vbuf_free(&b);
	CHECK_EQ(stat(p, &sb), 0);
	CHECK_EQ(sb.st_mode & 0777, 0644);
	CHECK_EQ(entries(dir), 1);          /* no temporary file left */
	CHECK_EQ(file_write_atomic(p, "", 0, 0644, &err), 0);
	CHECK_EQ(stat(p, &sb), 0);
	CHECK_EQ(sb.st_size, 0);
	/* a directory in the way: the path named, the old file kept */
	snprintf(q, sizeof(q), "%s/sub", dir);
	CHECK_EQ(mkdir(q, 0755), 0);
	CHECK_EQ(file_write_atomic(q, "x", 1, 0644, &err), -EISDIR);
	CHECK(strncmp(err.msg, q, strlen(q)) == 0);
	CHECK_CONTAINS(err.msg, "rename: Is a directory");
	CHECK_EQ(entries(dir), 2);          /* state and sub, no temporary */
	rmdir(q);
	/* no directory: the path named */
	snprintf(q, sizeof(q), "%s/none/state", dir);
	CHECK_EQ(file_write_atomic(q, "x", 1, 0644, &err), -ENOENT);
	CHECK(strncmp(err.msg, q, strlen(q)) == 0);
	CHECK_CONTAINS(err.msg, "No such file or directory");
	unlink(p);
	rmdir(dir);
}

/* Temporary files a crash left between write and rename: only <path>'s
 * own (<path>.tmp. and six characters) go; the file, other paths' temps
 * and look-alikes stay. */
static void t_atomic_clean(void)
{
	const char *names[] = { "state.tmp.a1B2c3", "state.tmp.zzzzzz", "state", "state.tmp.short",
				"state.tmp.toolong7", "other.tmp.a1B2c3", "state.tmpXa1B2c3" };
	char p[160], q[160];

	snprintf(dir, sizeof(dir), "/tmp/vt-fileio-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(q, sizeof(q), "%s/%s", dir, names[i]);
		FILE *f = fopen(q, "w");
		CHECK(f != NULL);
		fclose(f);
	}
	snprintf(p, sizeof(p), "%s/state", dir);
	CHECK_EQ(file_atomic_clean(p), 2);
	CHECK_EQ(entries(dir), ARRAY_SIZE(names) - 2);
	CHECK_EQ(file_atomic_clean(p), 0);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(q, sizeof(q), "%s/%s", dir, names[i]);
		CHECK_EQ(access(q, F_OK) == 0, i >= 2);
		unlink(q);
	}
	rmdir(dir);
	/* a directory that does not exist holds none */
	snprintf(p, sizeof(p), "%s/state", dir);
	CHECK_EQ(file_atomic_clean(p), 0);
}

VT_TEST_MAIN(VT_T(t_files), VT_T(t_stdin), VT_T(t_write_atomic), VT_T(t_atomic_clean))
