/* server/main.c — the ember binary: flags, logging set-up, then the app. The only exit(). */
#include <stdio.h>
#include <stdlib.h>

#include "server/app.h"
#include "server/cli.h"

int main(int argc, char **argv)
{
    struct flags f;
    struct err e = {0};
    int code;
    if (cli_run(argc, argv, &code))
        exit(code);
    if (flags_parse(argc, argv, &f, &e) < 0) {
        fprintf(stderr, "ember: error: %s, try --help\n", e.msg);
        exit(2);
    }
    if (f.help) {
        fputs(flags_usage(), stdout);
        exit(0);
    }
    if (f.version) {
        printf("ember, version %s\n", EMBER_VERSION);
        exit(0);
    }
    log_setup(f.log_level, f.log_format, 2);
    exit(app_run(&f));
}
