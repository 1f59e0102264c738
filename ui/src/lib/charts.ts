// Chart.js with only what the reports page draws registered (line and bar charts over a category
// axis and a linear one, with a legend and tooltips), so the rest of the library stays out of the
// bundle. ReportChart loads this module on demand: charts stay out of the app's main chunk.
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, Legend, Tooltip);
// The app's own font (app.css sets it on the root), not Chart.js's Helvetica.
Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily || Chart.defaults.font.family;

export { Chart };
