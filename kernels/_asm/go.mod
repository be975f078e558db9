module github.com/glossa-ai/glossa/kernels/_asm

go 1.26

require github.com/mmcloughlin/avo v0.5.0
