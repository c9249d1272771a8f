/** ESXi's hook: a VMware snapshot taken over SSH ({@code vim-cmd}); the base disk is fetched while it is frozen. */
package dev.standin.snapshot.esxi;
