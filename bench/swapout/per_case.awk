# Per case, the median, min and max over the kept rounds of one boot of the swap-out benchmark, from the
# "roundlog" lines guest.sh prints, of one metric:
#
#   awk -v variant=V -v boot=N -v metric=mib_per_s -f per_case.awk ROUNDS
#   awk -v variant=V -v boot=N -v metric=insns_per_page -v marks=MARKS -f per_case.awk ROUNDS
#
# mib_per_s is the round's own; insns_per_page pairs the instruction counter's marks (insn_count.c: two per
# swap-out, in the order they ran, "mark vcpu=N insns=X") with the rounds, the dropped ones too, and divides
# by the pages the round swapped out. A case's second segment ("<case>_b", on a kernel without policy groups)
# counts for the case. One line per case, sorted by the caller:
#
#   variant=V case=C boot=N kernel=R runs=K median_<metric>=X min=X max=X
BEGIN {
    if (metric != "mib_per_s" && metric != "insns_per_page") {
        print "per_case.awk: metric is mib_per_s or insns_per_page" > "/dev/stderr"; failed = 1; exit 2
    }
    if (metric == "insns_per_page") {
        while ((getline line < marks) > 0) {
            split(line, w, " ")
            if (w[1] == "mark") { split(w[3], kv, "="); mark[++m] = kv[2] }
        }
    }
}
$1 == "roundlog" {
    delete f
    for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    r++
    c = f["case"]; sub(/_b$/, "", c)
    release = f["kernel"]
    if (f["kept"] != 1 || f["mib"] <= 0) next
    value = metric == "mib_per_s" ? f["mib_per_s"] : (mark[2 * r] - mark[2 * r - 1]) / (f["mib"] * 256)
    v[c, ++n[c]] = value
}
END {
    if (failed) exit 2
    if (metric == "insns_per_page" && m != 2 * r) {
        printf "bench/swapout: boot %d of %s: %d marks for %d rounds, not counted\n", boot, variant, m, r > "/dev/stderr"
        exit 1
    }
    fmt = metric == "mib_per_s" ? "%.1f" : "%.0f"
    for (c in n) {
        k = n[c]
        for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[c, j] < v[c, i]) { t = v[c, i]; v[c, i] = v[c, j]; v[c, j] = t }
        med = (k % 2) ? v[c, (k + 1) / 2] : (v[c, k / 2] + v[c, k / 2 + 1]) / 2
        printf "variant=%s case=%s boot=%d kernel=%s runs=%d median_%s=" fmt " min=" fmt " max=" fmt "\n", \
            variant, c, boot, release, k, metric, med, v[c, 1], v[c, k]
    }
}
