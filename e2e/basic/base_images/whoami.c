// Prints the ids the process runs with, then whether it may write to /tmp
// (1777 in the base) and list /root (0700, owned by root).
#include <dirent.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
  printf("uid=%d gid=%d\n", (int)getuid(), (int)getgid());
  FILE *f = fopen("/tmp/probe", "w");
  printf("tmp=%s\n", f ? "writable" : "denied");
  if (f) fclose(f);
  DIR *d = opendir("/root");
  printf("root=%s\n", d ? "readable" : "denied");
  if (d) closedir(d);
  return 0;
}
