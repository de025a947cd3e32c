/* Prints what it read from its runfiles (by the runfiles path next to
 * argv[0], and relative to the working directory, which image_from_binary
 * sets to the runfiles' main repository), its arguments and E2E_GREETING. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int slurp(const char *path, char *buf, size_t size) {
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    fprintf(stderr, "hello: cannot open %s\n", path);
    return -1;
  }
  size_t n = fread(buf, 1, size - 1, f);
  fclose(f);
  buf[n] = '\0';
  buf[strcspn(buf, "\n")] = '\0';
  return 0;
}

int main(int argc, char **argv) {
  const char *rel = "cc/greeting.txt";
  char path[4096], by_runfiles[256], by_cwd[256];
  snprintf(path, sizeof path, "%s.runfiles/_main/%s", argv[0], rel);
  if (slurp(path, by_runfiles, sizeof by_runfiles) != 0 ||
      slurp(rel, by_cwd, sizeof by_cwd) != 0) {
    return 1;
  }
  const char *env = getenv("E2E_GREETING");
  printf("c: runfiles=%s cwd=%s args=", by_runfiles, by_cwd);
  for (int i = 1; i < argc; i++) {
    printf("%s%s", i > 1 ? "," : "", argv[i]);
  }
  printf(" E2E_GREETING=%s\n", env ? env : "(unset)");
  return 0;
}
