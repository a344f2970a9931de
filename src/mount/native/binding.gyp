{
  "targets": [
    {
      "target_name": "dtar_fuse",
      "sources": ["dtar_fuse.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "<!@(pkg-config --cflags fuse3)"],
      "defines": ["NAPI_VERSION=8"],
      "libraries": ["<!@(pkg-config --libs fuse3)"]
    }
  ]
}
