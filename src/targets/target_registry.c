#include <string.h>

#include "rtk/target.h"

static const rtk_target_ops *const targets[] = {&rtk_target_gaussian, &rtk_target_mog_grid,
                                                 &rtk_target_mog_random, &rtk_target_mog_file, NULL};

const rtk_target_ops *const *rtk_target_all(void) { return targets; }

const rtk_target_ops *rtk_target_lookup(const char *name) {
  for (int i = 0; targets[i]; i++)
    if (!strcmp(targets[i]->name, name)) return targets[i];
  return NULL;
}
