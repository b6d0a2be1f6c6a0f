{
  "targets": [
    {
      "target_name": "shm_map",
      "sources": ["native/shm-map.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
