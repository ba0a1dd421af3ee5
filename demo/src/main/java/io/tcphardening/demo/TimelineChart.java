package io.tcphardening.demo;

import java.util.Map;

/** The cable pull's results as an SVG timeline: one bar per connection and setting, seconds along the axis. */
final class TimelineChart {

    private static final int LEFT = 340;
    private static final int WIDTH = 600;
    private static final int ROW = 16;
    private static final String[] COLOURS = {"#9e9e9e", "#e69f00", "#009e73", "#56b4e9"};

    private TimelineChart() {
    }

    static String svg(Map<String, Map<String, Long>> results, int window, String settings) {
        int runs = results.size();
        int group = runs * ROW + 12;
        int rows = Connection.values().length * Connection.State.values().length;
        int height = 70 + rows * group + 40;
        StringBuilder svg = new StringBuilder();
        svg.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(LEFT + WIDTH + 110)
                .append("\" height=\"").append(height).append("\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        svg.append("<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">Cable pulled at 0 s: when does the"
                + " application learn its peer is gone?</text>\n");
        svg.append("<text x=\"10\" y=\"40\">").append(escape(settings)).append("; hatched: still waiting when the"
                + " demo stopped watching</text>\n");
        svg.append("<defs><pattern id=\"waiting\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\">"
                + "<rect width=\"6\" height=\"6\" fill=\"#eeeeee\"/><path d=\"M0,6 L6,0\" stroke=\"#bbbbbb\"/>"
                + "</pattern></defs>\n");
        int y = 60;
        for (Connection c : Connection.values()) {
            for (Connection.State state : Connection.State.values()) {
                svg.append("<text x=\"10\" y=\"").append(y + group / 2).append("\">").append(escape(c.label))
                        .append(", ").append(state.name().toLowerCase()).append("</text>\n");
                int i = 0;
                for (Map.Entry<String, Map<String, Long>> run : results.entrySet()) {
                    long ms = run.getValue().getOrDefault(c + " " + state, -1L);
                    int barY = y + i * ROW;
                    double seconds = ms < 0 ? window : ms / 1000.0;
                    int length = (int) Math.max(2, Math.round(WIDTH * Math.min(seconds, window) / window));
                    svg.append("<rect x=\"").append(LEFT).append("\" y=\"").append(barY).append("\" width=\"")
                            .append(length).append("\" height=\"").append(ROW - 3).append("\" fill=\"")
                            .append(ms < 0 ? "url(#waiting)" : COLOURS[i % COLOURS.length]).append("\"/>\n");
                    svg.append("<text x=\"").append(LEFT - 8).append("\" y=\"").append(barY + ROW - 5)
                            .append("\" text-anchor=\"end\" fill=\"#555555\">").append(escape(run.getKey()))
                            .append("</text>\n");
                    svg.append("<text x=\"").append(LEFT + length + 5).append("\" y=\"").append(barY + ROW - 5)
                            .append("\">").append(ms < 0 ? "still waiting" : String.format("%.1f s", seconds))
                            .append("</text>\n");
                    i++;
                }
                y += group;
            }
        }
        for (int s = 0; s <= window; s += Math.max(1, window / 6)) {
            int x = LEFT + WIDTH * s / window;
            svg.append("<line x1=\"").append(x).append("\" y1=\"55\" x2=\"").append(x).append("\" y2=\"").append(y)
                    .append("\" stroke=\"#dddddd\"/>\n");
            svg.append("<text x=\"").append(x).append("\" y=\"").append(y + 15).append("\" text-anchor=\"middle\">")
                    .append(s).append(" s</text>\n");
        }
        return svg.append("</svg>\n").toString();
    }

    private static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
