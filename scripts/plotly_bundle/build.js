const esbuild = require('esbuild');
const { environmentPlugin } = require('esbuild-plugin-environment');
const InlineCSSPlugin = require('esbuild-plugin-inline-css');
esbuild.build({
  entryPoints: ['./entry.js'], outfile: './plotly-critmin.min.js',
  format: 'iife', globalName: 'Plotly', bundle: true, minify: true, sourcemap: false,
  plugins: [InlineCSSPlugin(), environmentPlugin({ NODE_DEBUG: false })],
  alias: { stream: 'stream-browserify' },
  define: { global: 'window', 'define.amd': 'false' },
  target: 'es2016', legalComments: 'inline',
  banner: { js: '/**\n* plotly.js v4.1.1 partial bundle (core/scatter, bar, sankey) for critmin reports\n* Copyright 2012-2026, Plotly, Inc.\n* All rights reserved.\n* Licensed under the MIT license\n*/' },
}).then(() => console.log('ok')).catch((e) => { console.error(e); process.exit(1); });
