/** uPlot and its stylesheet, in their own chunk (loaded only by pages with charts). */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
export default uPlot;
