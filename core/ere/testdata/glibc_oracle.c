/* Oracle for the differential test of package ere against glibc.
 *
 * Reads one case per line: "<cflags> <hex pattern> <hex subject>" (an
 * empty string is written "-") and
 * prints one result line per case:
 *   ERR <code> <regerror text>
 *   NOMATCH
 *   MATCH <so> <eo> ...   (re_nsub + 1 pairs)
 * Runs in the C locale (setlocale is never called). A case that keeps glibc
 * busy for more than 3 s of CPU ends the process (SIGALRM's default action):
 * some patterns make regcomp/regexec exponential. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int hexval(int c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	return 0;
}

static char *unhex(const char *h, size_t n)
{
	if (n == 1 && h[0] == '-') {
		n = 0;
	}
	char *out = malloc(n / 2 + 1);
	for (size_t i = 0; i + 1 < n; i += 2) {
		out[i / 2] = (char)(hexval(h[i]) * 16 + hexval(h[i + 1]));
	}
	out[n / 2] = '\0';
	return out;
}

static const char *field(const char *p, size_t *len)
{
	while (*p == ' ') {
		p++;
	}
	const char *start = p;
	while (*p != '\0' && *p != ' ' && *p != '\n') {
		p++;
	}
	*len = (size_t)(p - start);
	return start;
}

int main(void)
{
	static char line[1 << 16];
	while (fgets(line, sizeof(line), stdin) != NULL) {
		char *rest;
		const int cflags = (int)strtol(line, &rest, 10);
		size_t plen, slen;
		const char *ph = field(rest, &plen);
		const char *sh = field(ph + plen, &slen);
		char *pattern = unhex(ph, plen);
		char *subject = unhex(sh, slen);
		regex_t re;
		alarm(3);
		int err = regcomp(&re, pattern, cflags);
		if (err != 0) {
			char buf[256];
			regerror(err, &re, buf, sizeof(buf));
			printf("ERR %d %s\n", err, buf);
		} else {
			const size_t n = re.re_nsub + 1;
			regmatch_t *m = calloc(n, sizeof(*m));
			err = regexec(&re, subject, n, m, 0);
			if (err != 0) {
				printf("NOMATCH\n");
			} else {
				printf("MATCH");
				for (size_t i = 0; i < n; i++) {
					printf(" %d %d", (int)m[i].rm_so,
					       (int)m[i].rm_eo);
				}
				printf("\n");
			}
			free(m);
			regfree(&re);
		}
		alarm(0);
		fflush(stdout);
		free(pattern);
		free(subject);
	}
	return 0;
}
