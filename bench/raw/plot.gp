set terminal pngcairo size 1400,1000 font "sans,10" noenhanced
set output "/work/main/bench/results.png"
set multiplot layout 2,1 title "queue_driver vs kernel IPC: 6.1.0-57-amd64, 2 vCPUs, tcg, median of 9 runs, error bars min..max"
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.8 border -1
set key outside right top vertical
set grid ytics
set logscale y
set ylabel "messages/s (log scale)"
set title "throughput, higher is better"
plot for [i=0:6] "/work/main/bench/raw/plot-throughput.dat" using (column(2+3*i)):(column(3+3*i)):(column(4+3*i)):xtic(1) title columnheader(2+3*i) lc rgb word("#6a3d9a #1f78b4 #a6cee3 #33a02c #e31a1c #ff7f00 #b15928 ", i+1)
set ylabel "round trip p50, us (log scale)"
set title "ping-pong latency, lower is better"
plot for [i=0:4] "/work/main/bench/raw/plot-latency.dat" using (column(2+3*i)):(column(3+3*i)):(column(4+3*i)):xtic(1) title columnheader(2+3*i) lc rgb word("#6a3d9a #33a02c #e31a1c #ff7f00 #b15928 ", i+1)
unset multiplot
