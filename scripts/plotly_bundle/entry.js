'use strict';
// critmin report bundle: plotly.js core (scatter) + the trace types the report draws
var Plotly = require('plotly.js/lib/core');
Plotly.register([require('plotly.js/lib/bar'), require('plotly.js/lib/sankey')]);
module.exports = Plotly;
