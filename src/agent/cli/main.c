/* fwseal-agent: the device side. This release prints its usage; the update loop, slots and
 * reports arrive with the agent's own module. */
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: fwseal-agent --server URL --bundle BUNDLE_DIR --state STATE_DIR\n"
               "                    --slot-backend file|uboot|grub|script [--slot-dir DIR]\n"
               "                    [--hardware H --region R] [--once] [--health-check CMD]\n"
               "       fwseal-agent status --state STATE_DIR [--json]\n"
               "       fwseal-agent --simulate N --server URL --bundles DIR\n"
               "\n"
               "The device agent is not part of this build yet: only this usage is printed.\n");
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("fwseal-agent %s\n", FWS_VERSION);
        return 0;
    }
    usage(stderr);
    return 2;
}
