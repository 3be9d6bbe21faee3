/* Start-up and shutdown only. */
#include "base/log.h"

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    SB_INFO("main", "switchboard");
    return 0;
}
