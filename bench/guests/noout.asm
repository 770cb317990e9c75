; SPDX-License-Identifier: MIT
; noout.asm: plain.asm without its `out`: the same loop over the same
; bytes, and no exit until hlt.  plain minus noout, divided by the byte
; count, is what one port-I/O exit costs.

%define NO_OUT
%include "plain.asm"
