/* tsdb/fsutil.c — see fsutil.h. nftw() walks trees depth-first without following links. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tsdb/fsutil.h"

int fs_sync_dir(const char *dir, struct err *e)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, -errno, "opening directory %s: %s", dir, strerror(errno));
    int r = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return r < 0 ? err_set(e, r, "syncing directory %s: %s", dir, strerror(-r)) : 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) ftw;
    int r = flag == FTW_DP ? rmdir(path) : unlink(path);
    return r < 0 && errno != ENOENT ? -1 : 0;
}

int fs_remove_tree(const char *path, struct err *e)
{
    struct stat st;
    if (lstat(path, &st) < 0 && errno == ENOENT)
        return 0;
    if (nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
        return err_set(e, -errno, "removing %s: %s", path, strerror(errno));
    return 0;
}

static _Thread_local uint64_t tree_bytes;

static int add_size(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) path;
    (void) ftw;
    if (flag == FTW_F && S_ISREG(st->st_mode))
        tree_bytes += (uint64_t) st->st_size;
    return 0;
}

uint64_t fs_tree_bytes(const char *path)
{
    tree_bytes = 0;
    if (nftw(path, add_size, 16, FTW_PHYS) < 0)
        return 0;
    return tree_bytes;
}

static _Thread_local const char *link_src, *link_dst;

static int link_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) ftw;
    char to[4096];
    if (snprintf(to, sizeof to, "%s%s", link_dst, path + strlen(link_src)) >= (int) sizeof to) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (flag == FTW_D)
        return mkdir(to, st->st_mode & 0777) < 0 && errno != EEXIST ? -1 : 0;
    if (flag == FTW_F && S_ISREG(st->st_mode))
        return link(path, to);
    return 0;
}

int fs_link_tree(const char *src, const char *dst, struct err *e)
{
    link_src = src;
    link_dst = dst;
    if (nftw(src, link_one, 16, FTW_PHYS) < 0)
        return err_set(e, -errno, "linking %s into %s: %s", src, dst, strerror(errno));
    return 0;
}
